#!/usr/bin/env python3
"""Every program the test drivers run, and every Ansible plugin the tests name, must come from
the machine image or from script/deps.sh: a green run on a developer's machine can hide an
install step done by hand (the Ansible tests once used the json callback of a collection only
that machine had).

    Tests/deps/check.py [--repository DIR] [--image FILE] [--list]

Reads the shell scripts (script/*, .ci/run, installer/*.sh), the Python drivers (Tests/**/*.py)
and the Swift tests' CommandRunner calls, finds each program they start, resolves it on PATH
and asks dpkg which package holds it. That package must be on the image's list (FILE, default
Tests/deps/image-packages.txt) or installed by deps.sh (the packages it names and what they
depend on); programs of the image's own toolchains (/opt/swift, pyenv's Pythons) count as the
image's. Callback and module names in the Ansible tests are resolved with ansible-doc the same
way, unless the repository holds them. The guests' scripts (Tests/e2e/guest, scenarios) are left
out: they run inside QEMU on what the scenarios download. --list prints every program found and
where it comes from. Exit 0 when all are provided, 1 when one is not (each named with the file
and line that runs it and the fix), 64 on a usage error.
"""

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
PATH = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"

# Programs a test names without needing them installed, each for a reason.
NOT_INSTALLED = {
    "sfdisk-not-here": "CommandRunnerTests: the program that is missing on purpose",
    "dom0kit-probe": "CommandRunnerTests: a program the test writes into a PATH of its own",
}
SHELL_BUILTINS = set("""
    . : [ [[ alias bg break builtin caller cd command compgen complete continue declare dirs disown
    echo enable eval exec exit export false fc fg getopts hash help history jobs kill let local
    logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt source
    suspend test times trap true type typeset ulimit umask unalias unset wait
    if then else elif fi for while until do done case esac in function select { } coproc
""".split())
# Words that run the program after them: the program is the next word that is not an option or an
# assignment (timeout takes its duration first); ! negates the command after it.
PREFIXES = {"exec", "command", "env", "sudo", "nohup", "nice", "time", "timeout", "xargs", "builtin", "!"}
PROGRAM = re.compile(r"^(?:/[\w.+/-]+|[A-Za-z_][\w.+-]*)$")
RUNNERS = {"run", "Popen", "check_output", "check_call", "call"}


class Finding:
    def __init__(self, program, where):
        self.program, self.where = program, where


# --- shell ------------------------------------------------------------------------------------

def shell_commands(text, where):
    """A Finding for each simple command of a shell script, command substitutions included. A
    small reader, not a shell: enough for the project's own scripts."""
    found = []
    functions = set(re.findall(r"^\s*(?:function\s+)?([\w-]+)\s*\(\)", text, re.M))
    heredoc = None
    case_depth = 0
    logical, start = "", None
    for number, line in enumerate(text.split("\n"), 1):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if start is None:
            start = number
        logical += line
        if logical.endswith("\\"):
            logical = logical[:-1] + " "
            continue
        words = blank_substitutions(logical, [])
        if words is None or re.search(r"(^|\s)[A-Za-z_]\w*\+?=\([^)]*$", words):
            logical += "\n"   # a quote or an array assignment goes on
            continue
        marker = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", logical) if "<<" in words else None
        if marker:
            heredoc = marker.group(1)
        for program in simple_commands(logical, case_depth):
            if program not in functions:
                found.append(Finding(program, f"{where}:{start}"))
        plain = re.findall(r"[\w-]+", words)
        case_depth = max(0, case_depth + plain.count("case") - plain.count("esac"))
        logical, start = "", None
    return found


def simple_commands(line, case_depth):
    """The programs of one logical line: the first word of each command in it."""
    substitutions = []
    text = blank_substitutions(line, substitutions) or ""
    text = re.sub(r"(^|\s)[A-Za-z_]\w*\+?=\([^)]*\)", " ", text)   # NAME=( words ): an array's values
    if case_depth:
        text = re.sub(r"^\s*[^\s()]+(?:\|[^\s()]+)*\)", " ", text)   # a case pattern
    programs = []
    for piece in re.split(r";;|&&|\|\||[;|&(){}\n]|\b(?:then|do|else|if|elif|while|until)\b", text):
        program = first_program(piece.split())
        if program:
            programs.append(program)
    for inner in substitutions:
        programs.extend(simple_commands(inner, 0))
    return programs


def blank_substitutions(line, substitutions):
    """LINE with each quoted string, ${parameter}, $((arithmetic)), $(command) and `command` made
    one word ($_, or $ARRAY for "${name[@]}", a prefix held in an array); the commands substituted go into SUBSTITUTIONS.
    None while a quote is still open at the end."""
    out, i, quote = [], 0, None
    while i < len(line):
        c = line[i]
        if quote == "'":
            if c == "'":
                quote = None
            i += 1
            continue
        if c == "#" and quote is None and (i == 0 or line[i - 1] in " \t\n;"):   # a comment, to the line's end
            end = line.find("\n", i)
            i = len(line) if end < 0 else end
            continue
        if c == "\\":
            out.append("$_")
            i += 2
            continue
        if c == "'" and quote is None:
            quote = "'"
            out.append("$_")
            i += 1
            continue
        array = re.match(r'"\$\{\w+\[@\]\}"', line[i:]) if quote is None else None
        if array:
            out.append("$ARRAY")
            i += array.end()
            continue
        if c == '"':
            if quote is None:
                out.append("$_")
            quote = None if quote == '"' else '"'
            i += 1
            continue
        if line.startswith("$((", i):
            i = matching(line, i + 1, "(", ")") + 1
            out.append("" if quote else "$_")
            continue
        if line.startswith("$(", i) or line.startswith("<(", i):
            end = matching(line, i + 1, "(", ")")
            substitutions.append(line[i + 2:end])
            out.append("" if quote else "$_")
            i = end + 1
            continue
        if line.startswith("${", i):
            end = matching(line, i + 1, "{", "}")
            out.append("" if quote else "$_")
            i = end + 1
            continue
        if c == "`":
            end = line.find("`", i + 1)
            end = len(line) if end < 0 else end
            substitutions.append(line[i + 1:end])
            out.append("" if quote else "$_")
            i = end + 1
            continue
        if quote != '"':
            out.append(c)
        i += 1
    return None if quote else "".join(out)


def matching(line, opening, left, right):
    depth = 0
    for j in range(opening, len(line)):
        if line[j] == left:
            depth += 1
        elif line[j] == right:
            depth -= 1
            if depth == 0:
                return j
    return len(line)


def first_program(words):
    """The program a simple command runs, or None (a builtin, an assignment, a variable)."""
    skip_value = False
    for word in words:
        if re.match(r"^[A-Za-z_]\w*(\[[^]]*\])?\+?=", word):
            continue
        if word.startswith("$") or word.startswith('"$'):
            if word.startswith("$ARRAY"):   # "${sudo[@]}": a prefix held in an array
                continue
            return None
        if word in PREFIXES:
            skip_value = word == "timeout"
            continue
        if word.startswith("-") or word.startswith(">") or word.startswith("<") or re.match(r"^\d*[<>]", word):
            continue
        if skip_value:
            skip_value = False
            continue
        if word in SHELL_BUILTINS or not PROGRAM.match(word):
            return None
        return word
    return None


# --- Python -----------------------------------------------------------------------------------

def python_commands(text, where):
    """Programs started through subprocess (or a run() wrapper) with a literal argv, and every
    other list literal that reads as an argv (a program, then an option: qemu's, built before it
    is passed on), except one run inside a chroot; sh -c scripts too."""
    tree = ast.parse(text)
    in_chroot = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "chroot":
            in_chroot.update(id(inner) for argument in node.args for inner in ast.walk(argument))
    argvs = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name == "which" and isinstance(node.args[0], ast.Constant):
                argvs[id(node)] = (node.lineno, [node.args[0]])
            elif name in RUNNERS and literal_argv(node.args[0]):
                argvs[id(node.args[0])] = (node.lineno, literal_argv(node.args[0]))
        elif isinstance(node, ast.List) and id(node) not in in_chroot:
            elements = literal_argv(node)
            if elements and len(elements) > 1 and str(getattr(elements[1], "value", "")).startswith("-"):
                argvs.setdefault(id(node), (node.lineno, elements))
    found = []
    for line, elements in sorted(argvs.values(), key=lambda entry: entry[0]):
        program = elements[0].value
        found.append(Finding(program, f"{where}:{line}"))
        if program in ("sh", "bash") and len(elements) > 2 and getattr(elements[1], "value", None) == "-c":
            found.extend(Finding(f.program, f"{where}:{line}") for f in shell_commands(constant_text(elements[2]), where))
    return found


def literal_argv(node):
    """The elements of a list literal (or of the left side of LIST + ...) whose first one is a
    string constant naming a program."""
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        node = node.left
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts and isinstance(node.elts[0], ast.Constant) \
            and isinstance(node.elts[0].value, str) and PROGRAM.match(node.elts[0].value):
        return node.elts
    return None


def constant_text(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "_" for part in node.values)
    return ""


# --- Swift tests ------------------------------------------------------------------------------

SWIFT_CALL = re.compile(r'\.(?:run|check)\(\s*\[\s*"([^"]+)"(?:\s*,\s*"-c"\s*,\s*"((?:[^"\\]|\\.)*)")?')


def swift_commands(text, where):
    """Programs the Swift tests start through CommandRunner's run or check, sh -c scripts too."""
    found = []
    for match in SWIFT_CALL.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        program, script = match.group(1), match.group(2)
        if not PROGRAM.match(program):
            continue
        found.append(Finding(program, f"{where}:{line}"))
        if script and program in ("sh", "bash"):
            script = re.sub(r"\\\([^)]*\)", "$_", script).replace('\\"', '"')
            found.extend(Finding(f.program, f"{where}:{line}") for f in shell_commands(script, where))
    return found


# --- Ansible ----------------------------------------------------------------------------------

def ansible_plugins(repository):
    """{(type, name): first file:line} of the callbacks, and the modules outside ansible.builtin,
    that the Ansible tests, their configuration and the collection's playbooks name."""
    found = {}
    tests = repository / "Tests/ansible"
    places = sorted(tests.rglob("*.py")) + sorted(tests.rglob("*.yml")) + sorted(tests.rglob("ansible.cfg")) \
        + sorted((repository / "ansible").rglob("playbooks/*.yml"))
    for path in places:
        where = path.relative_to(repository)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name in re.findall(r"callback\s*[=:]\s*[\"']?([\w.]+)[\"']?\s*(?:$|[,)#])", line, re.I):
                if not name.isupper() and name not in ("callback", "True", "False", "None"):
                    found.setdefault(("callback", name), f"{where}:{number}")
            if path.suffix == ".yml":
                for name in re.findall(r"^\s*-?\s*([a-z_]\w*\.[a-z_]\w*\.[a-z_]\w*):", line):
                    if not name.startswith("ansible.builtin."):
                        found.setdefault(("module", name), f"{where}:{number}")
    return found


def ansible_plugin_file(repository, kind, name):
    """The file ansible-doc loads for plugin NAME (the repository's collections on its path), or None."""
    if not shutil.which("ansible-doc"):
        return None
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(repository / "ansible"))
    doc = subprocess.run(["ansible-doc", "-t", kind, "--json", name], capture_output=True, text=True, env=environment)
    try:
        return next(iter(json.loads(doc.stdout).values()))["doc"]["filename"]
    except (ValueError, StopIteration, KeyError, TypeError):
        return None


# --- where a program comes from -----------------------------------------------------------------

class Provenance:
    def __init__(self, repository, image_file):
        self.repository = repository
        self.image = {line.split("\t")[0].strip() for line in Path(image_file).read_text().splitlines()
                      if line.strip() and not line.startswith("#")}
        self.deps = deps_packages(repository / "script/deps.sh")
        self.closure = dependency_closure(self.deps)
        self.toolchains = [Path("/opt/swift"), Path.home() / ".pyenv"]

    def allowed(self, package):
        base = package.split(":")[0]
        return base in self.image or base in self.deps or base in self.closure

    def origins(self, paths):
        """{path: (the package holding it or a toolchain's name, whether that is allowed)}, from
        one dpkg query; a path no package holds maps to (None, False)."""
        names = {path: candidates(path, Path(os.path.realpath(path))) for path in paths}
        query = sorted({name for variants in names.values() for name in variants})
        owners = {}
        if query:
            listed = subprocess.run(["dpkg-query", "-S"] + query, capture_output=True, text=True).stdout
            for line in listed.splitlines():
                if not line.startswith("diversion ") and ": " in line:
                    packages, name = line.rsplit(": ", 1)
                    owners.setdefault(name, packages.split(", "))
        result = {}
        for path, variants in names.items():
            toolchain = next((t for t in self.toolchains if variants[0].startswith(str(t) + "/")), None)
            packages = next((owners[name] for name in variants if name in owners), [])
            allowed = [package for package in packages if self.allowed(package)]
            if toolchain:
                result[path] = (f"the image's {toolchain}", True)
            else:
                result[path] = ((allowed or packages or [None])[0], bool(allowed))
        return result


def candidates(path, real):
    """The names dpkg may know a file by: as found, resolved, and across the /usr merge."""
    seen = []
    for name in (str(real), str(path)):
        for variant in (name, re.sub(r"^/usr/", "/", name), re.sub(r"^/(s?bin|lib)/", r"/usr/\1/", name)):
            if variant not in seen:
                seen.append(variant)
    return seen


def deps_packages(deps_sh):
    text = Path(deps_sh).read_text()
    block = re.search(r"^packages=\((.*?)^\)", text, re.M | re.S)
    if not block:
        sys.exit(f"{deps_sh}: no packages=( … ) list; the check reads the packages deps.sh installs from it")
    return {word for line in block.group(1).splitlines() for word in line.split("#")[0].split()}


def dependency_closure(packages):
    """Every installed package the named ones depend on, directly or not (what apt installs with them)."""
    if not shutil.which("apt-cache"):
        return set()
    result = subprocess.run(["apt-cache", "depends", "--recurse", "--installed", "--no-recommends", "--no-suggests",
                             "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + sorted(packages),
                            capture_output=True, text=True)
    closure = set()
    for line in result.stdout.splitlines():
        name = line.strip().split(":")[-1].strip() if ":" in line else line.strip()
        if name and not name.startswith("<"):
            closure.add(name)
    return closure


# --- the check --------------------------------------------------------------------------------

def own_programs(repository):
    """The programs the repository builds or holds: its products, scripts and tools' links."""
    names = set(re.findall(r'\.executable\(\s*name:\s*"([^"]+)"', (repository / "Package.swift").read_text()))
    names |= {"dom0kit", "host-prepare", "dom0-partition", "xen-cmdline", "supp-pack", "control-slice", "pciback-agent"}
    return names


def scanned_files(repository):
    shell = [repository / ".ci/run"] + sorted((repository / "script").iterdir()) + sorted((repository / "installer").glob("*.sh"))
    python = [p for p in sorted((repository / "Tests").rglob("*.py"))
              if "e2e/guest" not in str(p) and "/output/" not in str(p)]
    swift = sorted(repository.glob("Tests/*Tests/**/*.swift"))
    return [p for p in shell if p.is_file()], python, swift


def findings(repository):
    shell, python, swift = scanned_files(repository)
    found = []
    for path in shell:
        text = path.read_text()
        if text.startswith("#!") and "python" in text.split("\n", 1)[0]:
            found += python_commands(text, path.relative_to(repository))
        else:
            found += shell_commands(text, path.relative_to(repository))
    for path in python:
        found += python_commands(path.read_text(), path.relative_to(repository))
    for path in swift:
        found += swift_commands(path.read_text(), path.relative_to(repository))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--repository", default=str(REPOSITORY), help="the checkout to read (default: this one)")
    parser.add_argument("--image", default=str(Path(__file__).with_name("image-packages.txt")),
                        help="the packages a new machine has, one a line")
    parser.add_argument("--list", action="store_true", help="print every program found and where it comes from")
    try:
        arguments = parser.parse_args()
    except SystemExit as exit:
        sys.exit(64 if exit.code else 0)
    repository = Path(arguments.repository).resolve()
    for needed, what in ((repository / "Package.swift", "--repository is not a Dom0Kit checkout"),
                         (repository / "script/deps.sh", "--repository has no script/deps.sh"),
                         (Path(arguments.image), "--image names no file")):
        if not needed.is_file():
            print(f"deps: {what}: {needed} does not exist; fix: see --help", file=sys.stderr)
            return 64
    own = own_programs(repository)

    # (what, where it is named, the fix, its file on this machine or a verdict already known)
    needed = []
    programs = {}
    for finding in findings(repository):
        programs.setdefault(finding.program, []).append(finding.where)
    for program, places in sorted(programs.items()):
        fix = "add the Debian package that provides it to script/deps.sh"
        if Path(program).name in own or program.startswith(("script/", "installer/", "Tests/", "./")):
            file = ("the repository", True)
        elif program in NOT_INSTALLED:
            file = (f"not needed: {NOT_INSTALLED[program]}", True)
        else:
            file = shutil.which(program, path=PATH)
        needed.append((program, places, fix, file))
    plugins = ansible_plugins(repository)
    for (kind, name), where in sorted(plugins.items()):
        fix = f"keep it beside the tests (Tests/ansible/{kind}_plugins) or use one that ansible-core ships"
        local = repository / f"Tests/ansible/{kind}_plugins/{name}.py"
        file = str(local) if local.is_file() else ansible_plugin_file(repository, kind, name)
        if file and file.startswith(str(repository) + "/"):
            file = ("the repository", True)
        needed.append((f"the Ansible {kind} {name}", [where], fix, file))

    provenance = Provenance(repository, arguments.image)
    origins = provenance.origins([file for *_, file in needed if isinstance(file, str)])
    problems = []
    for what, places, fix, file in needed:
        where = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        origin, ok = file if isinstance(file, tuple) else origins.get(file, (None, False))
        if file is None:
            problems.append(f"{what} ({where}) is not installed on this machine; fix: {fix}")
        elif origin is None:
            problems.append(f"{what} ({where}) is {file}, which no Debian package installed; fix: {fix}")
        elif not ok:
            problems.append(f"{what} ({where}) comes from {origin}, which neither the image nor script/deps.sh "
                            f"installs; fix: {fix}")
        if arguments.list:
            print(f"{'ok  ' if ok else 'FAIL'} {what:36} {origin or file or 'not installed'}")

    for problem in problems:
        print(f"deps: {problem}", file=sys.stderr)
    print(f"deps: {len(programs)} programs and {len(plugins)} Ansible plugins named by the tests; "
          f"{len(problems)} not provided by the image or script/deps.sh")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
