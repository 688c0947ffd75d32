#!/usr/bin/env python3
"""Tests of Tests/deps/check.py: its reader of shell scripts, Python drivers and Swift tests on a
table of tricky lines, and the whole check on small repositories made for it — one whose every
program is provided passes; one whose script calls a program no package provides, one that calls
a program from a package neither its image list nor its deps.sh names, and one whose Ansible
test names a callback ansible-core lacks each fail, naming the file and line."""

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import check  # noqa: E402
from harness import Checks  # noqa: E402

SHELL = [
    ("cp -a x y  # Debian's zsh: a comment's apostrophe", ["cp"]),
    ('"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q', ["apt-get"]),
    ('version=$("$binary" --version); echo "$(uname -r) $(id -u)"', ["uname", "id"]),
    ("packages=(\n  fdisk util-linux   # sfdisk\n  rpm\n)\nsort list", ["sort"]),
    ("cat > f <<EOF\nnot-a-program here\nEOF\nwc -l f", ["cat", "wc"]),
    ("cat <<'EOF' | sort\n$(not-run either)\nEOF\nuniq f", ["cat", "sort", "uniq"]),
    ('case "$1" in\n  -h|--help) sed -n 2p "$0" ;;\n  xen) tail -1 f ;;\nesac', ["sed", "tail"]),
    ('timeout 5 qemu-img info x && [ -n "$y" ] || exit 1', ["qemu-img"]),
    ("reload='systemctl daemon-reload\nudevadm control'\n! grep -q x y", ["grep"]),
    ('speed="in under a second"; total=$((a + b)); "$binary" --list-tools | head -1', ["head"]),
    ('stage() { local name=$1; "$@"; }\nstage deps script/deps.sh', []),
    ("cache=${DOM0KIT_CACHE:-$HOME/.cache}/fuzz; mapfile -t t < <(ls d)", ["ls"]),
]

PYTHON = [
    ('subprocess.run(["mmdebstrap", "--variant=apt"], check=True)', ["mmdebstrap"]),
    ('qemu = ["qemu-system-x86_64", "-accel", "tcg"]\nqemu += ["-m", "1"]\nGuest(qemu)', ["qemu-system-x86_64"]),
    ('root.chroot(["/usr/lib/dom0kit/ld.so", "--list", "/usr/bin/dom0kit"])', []),
    ('PACKAGES = ["systemd", "udev", "dbus"]', []),
    ('run(["sh", "-c", f"gunzip -c \'{xen}\' > \'{out}\'"])', ["sh", "gunzip"]),
    ('shutil.which("xorriso")', ["xorriso"]),
]

SWIFT = [
    ('try await image.runner.check(["losetup", "--find", loop])', ["losetup"]),
    ('try await CommandRunner().run(["sh", "-c", "cd \\(root) && exec sleep 600"])', ["sh", "sleep"]),
    ('try await run(["apply", spec.string])', []),
]


def programs(found):
    return [finding.program for finding in found]


def repository(directory, deps, image, files):
    """A small checkout in DIRECTORY: a Package.swift, script/deps.sh installing DEPS, an image
    list of IMAGE and FILES ({path: text})."""
    root = Path(directory)
    files = dict(files)
    files["Package.swift"] = 'products: [.executable(name: "dom0kit", targets: ["dom0kit"])]\n'
    files["script/deps.sh"] = "#!/usr/bin/env bash\npackages=(\n  " + " ".join(deps) + "\n)\n"
    files["image.txt"] = "# image\n" + "\n".join(image) + "\n"
    files.setdefault(".ci/run", "#!/usr/bin/env bash\nscript/test\n")
    files.setdefault("script/test", "#!/usr/bin/env bash\nscript/deps.sh\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return subprocess.run([sys.executable, str(HERE / "check.py"), "--repository", str(root),
                           "--image", str(root / "image.txt")], capture_output=True, text=True)


def main():
    checks = Checks()
    print("the reader: which programs a line runs", flush=True)
    for text, expected in SHELL:
        got = programs(check.shell_commands(text, "t"))
        checks.check(f"shell {text.splitlines()[0][:60]!r}", got == expected, f"{got}, expected {expected}")
    for text, expected in PYTHON:
        got = programs(check.python_commands(text, "t"))
        checks.check(f"python {text[:60]!r}", got == expected, f"{got}, expected {expected}")
    for text, expected in SWIFT:
        got = programs(check.swift_commands(text, "t"))
        checks.check(f"swift {text[:60]!r}", got == expected, f"{got}, expected {expected}")

    print("the check on small repositories", flush=True)
    image, deps = ["dash", "coreutils"], ["fdisk"]
    with tempfile.TemporaryDirectory() as directory:
        result = repository(directory, deps, image, {"script/demo": "#!/usr/bin/env bash\nsfdisk --version\nsh -c true\n"})
        checks.check("every program provided: exit 0", result.returncode == 0, result.stdout + result.stderr)
    with tempfile.TemporaryDirectory() as directory:
        result = repository(directory, deps, image, {"script/demo": "#!/usr/bin/env bash\n\ndom0kit-no-such-program -x\n"})
        checks.check("a program nothing provides: exit 1, named with its file and line",
                     result.returncode == 1 and "deps: dom0kit-no-such-program (script/demo:3) is not installed on "
                     "this machine; fix: add the Debian package that provides it to script/deps.sh" in result.stderr,
                     result.stdout + result.stderr)
    with tempfile.TemporaryDirectory() as directory:
        driver = 'import subprocess\nsubprocess.run(["xorriso", "-version"])\n'
        result = repository(directory, deps, image, {"Tests/e2e/driver.py": driver})
        checks.check("a program from a package neither list names (installed by hand): exit 1",
                     result.returncode == 1 and "deps: xorriso (Tests/e2e/driver.py:2) comes from xorriso, which neither "
                     "the image nor script/deps.sh installs; fix: add" in result.stderr, result.stdout + result.stderr)
        result = repository(directory, deps + ["xorriso"], image, {})
        checks.check("the same once deps.sh installs its package: exit 0", result.returncode == 0,
                     result.stdout + result.stderr)
    with tempfile.TemporaryDirectory() as directory:
        driver = 'env = dict(ANSIBLE_STDOUT_CALLBACK="json")\n'
        result = repository(directory, deps + ["ansible-core"], image, {"Tests/ansible/run.py": driver})
        checks.check("an Ansible callback that bare ansible-core lacks (json, ansible.posix's): exit 1",
                     result.returncode == 1 and "deps: the Ansible callback json (Tests/ansible/run.py:1)" in result.stderr,
                     result.stdout + result.stderr)

    with tempfile.TemporaryDirectory() as directory:
        result = subprocess.run([sys.executable, str(HERE / "check.py"), "--repository", directory],
                                capture_output=True, text=True)
        checks.check("a directory that is no checkout: exit 64, said plainly",
                     result.returncode == 64 and "is not a Dom0Kit checkout" in result.stderr
                     and "Traceback" not in result.stderr, result.stderr)

    return checks.verdict("deps check tests")


if __name__ == "__main__":
    sys.exit(main())
