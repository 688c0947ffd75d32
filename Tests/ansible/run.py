#!/usr/bin/env python3
"""The dom0kit.xen collection driven by ansible-playbook over a pool of demo hosts (fleet.py),
with the host-prepare built from this checkout. script/ansible runs it after ansible-test sanity.

1. check mode (--check --diff): every host's plan and diffs, and no byte of any tree changed;
2. the first rollout: changed on every host whose spec Dom0Kit accepts, needs_reboot, facts
   gathered and the check after passing; xen-b refused alone, with Dom0Kit's message, its tree
   byte-identical, the other hosts finishing every task;
3. the second rollout: changed=0 on every host;
4. Tests/ansible/modules.yml: supp_pack's states, check mode, PATH lookup and failure messages;
5. the README's "Many hosts" output: the same play recap as the rollout prints;
6. the collection as the README installs it: ansible-galaxy build and install, ansible-doc of
   every module from the installed copy.

Every check prints PASS or FAIL; exit 0 only when all pass.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import fleet
sys.path.insert(0, str(fleet.REPOSITORY / "Tests"))
from harness import Checks  # noqa: E402  (shared with the other Python suites)

HERE = Path(__file__).resolve().parent
ACCEPTED = [host for host in fleet.HOSTS if host != fleet.REFUSED]


def tree_digest(root):
    """Every name, mode, link target and byte under ROOT. Sparse files (the demo's 64 GiB disk
    image) are read extent by extent, holes skipped."""
    digest = hashlib.sha256()
    for directory, names, files in os.walk(root):
        names.sort()
        for name in sorted(names + files):
            path = os.path.join(directory, name)
            status = os.lstat(path)
            digest.update(f"{os.path.relpath(path, root)}\0{status.st_mode:o}\0".encode())
            if os.path.islink(path):
                digest.update(os.readlink(path).encode())
            elif os.path.isfile(path):
                digest.update(str(status.st_size).encode())
                with open(path, "rb") as file:
                    for offset, data in extents(file, status.st_size):
                        digest.update(f"{offset}:".encode())
                        digest.update(data)
    return digest.hexdigest()


def extents(file, size):
    offset = 0
    while offset < size:
        try:
            offset = os.lseek(file.fileno(), offset, os.SEEK_DATA)
        except OSError:   # ENXIO: only a hole is left
            return
        end = os.lseek(file.fileno(), offset, os.SEEK_HOLE)
        file.seek(offset)
        while offset < end:
            data = file.read(min(end - offset, 1 << 20))
            yield offset, data
            offset += len(data)


def hostvars(inventory):
    """{host: its variables} as fleet.build wrote them."""
    return json.loads(Path(inventory).read_text())["xen_hosts"]["hosts"]


def digests(inventory):
    return {name: tree_digest(host["dom0kit_root"]) for name, host in hostvars(inventory).items()}


RESULTS_CALLBACK = "dom0kit_results"   # Tests/ansible/callback_plugins: bare ansible-core has no JSON one


def playbook(inventory, *arguments, callback=RESULTS_CALLBACK):
    """ansible-playbook over the pool: (exit status, the parsed results or the text output). Output
    that is not the results document ends the run with what ansible-playbook said."""
    command = ["ansible-playbook", "-i", str(inventory)] + list(arguments)
    result = subprocess.run(command, env=fleet.environment(ANSIBLE_STDOUT_CALLBACK=callback,
                                                           ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins")),
                            capture_output=True, text=True)
    if callback != RESULTS_CALLBACK:
        return result.returncode, result.stdout
    try:
        return result.returncode, json.loads(result.stdout)
    except ValueError:
        sys.exit(f"ansible: {' '.join(command)} printed no results (exit {result.returncode}):\n"
                 f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def task_results(output, name):
    """{host: result} of every task called NAME, over all the plays (one per serial batch)."""
    found = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                found.update(task["hosts"])
    return found


def tasks_run(output, host):
    return [task["task"]["name"] for play in output["plays"] for task in play["tasks"] if host in task["hosts"]]


MAKE = "Make the host as its spec says"
FACTS = "Gather Dom0Kit facts"
ROLLOUT = fleet.ROLLOUT


def check_mode(checks, inventory):
    print("check mode: --check --diff", flush=True)
    before = digests(inventory)
    rc, output = playbook(inventory, ROLLOUT, "--check", "--diff")
    made = task_results(output, MAKE)
    after = digests(inventory)
    checks.check("no byte of any host tree changed", before == after,
                 f"changed: {[h for h in before if before[h] != after[h]]}")
    for host in ACCEPTED:
        result = made.get(host, {})
        diffs = "".join(entry.get("prepared", "") for entry in result.get("diff", []))
        checks.check(f"{host}: the plan reports changed", result.get("changed") is True, json.dumps(result)[:400])
        checks.check(f"{host}: --diff shows grub.cfg's dom0_mem and control.slice's weight",
                     "+\tmultiboot2" in diffs and "dom0_mem=2048M,max:2048M" in diffs and "+CPUShares=8192" in diffs,
                     diffs[:400])
        checks.check(f"{host}: needs_reboot (a boot command line would change)", result.get("needs_reboot") is True)
    checks.check("xen-b: refused in check mode too", made.get(fleet.REFUSED, {}).get("failed") is True)


def first_rollout(checks, inventory, binary):
    print("first rollout", flush=True)
    before = digests(inventory)
    rc, output = playbook(inventory, ROLLOUT, "--diff")
    after = digests(inventory)
    made = task_results(output, MAKE)
    stats = output["stats"]
    for host in ACCEPTED:
        result = made.get(host, {})
        checks.check(f"{host}: changed", result.get("changed") is True and stats[host]["changed"] >= 1,
                     json.dumps(result)[:400])
        checks.check(f"{host}: needs_reboot", result.get("needs_reboot") is True)
        checks.check(f"{host}: --diff shows what was applied", any("+CPUShares=8192" in entry.get("prepared", "")
                                                                    for entry in result.get("diff", [])))
        checks.check(f"{host}: its tree changed", before[host] != after[host])
        checks.check(f"{host}: finished every task, none failed",
                     stats[host]["failures"] == 0 and tasks_run(output, host)[-1].startswith("Check after - no"),
                     f"{stats[host]} {tasks_run(output, host)}")
    refused = made.get(fleet.REFUSED, {})
    checks.check("xen-b: failed alone, at its spec", stats[fleet.REFUSED]["failures"] == 1
                 and all(stats[host]["failures"] == 0 for host in ACCEPTED), json.dumps(stats))
    checks.check("xen-b: the task says Dom0Kit's message (what, where, fix) and that it was refused",
                 refused.get("outcome") == "refused" and refused.get("rc") == 2
                 and refused.get("msg", "").startswith("pciback-agent.service is not installed: ")
                 and "; fix: " in refused.get("msg", ""), json.dumps(refused)[:400])
    checks.check("xen-b: its tree is byte-identical", before[fleet.REFUSED] == after[fleet.REFUSED])
    checks.check("the rollout exits non-zero (a host failed)", rc != 0)

    facts = task_results(output, FACTS)
    for host in ACCEPTED:
        dom0kit = facts.get(host, {}).get("ansible_facts", {}).get("dom0kit", {})
        health = dom0kit.get("health", {})
        checks.check(f"{host}: facts gathered - health, boot status, packs, version",
                     len(health.get("checks", [])) == health.get("passed", 0) + health.get("warned", 0)
                     + health.get("failed", -1) > 0
                     and any(check["what"] == "hidden device 0000:04:00.0" and check["status"] == "PASS"
                             for check in health["checks"])
                     and dom0kit.get("boot", {}).get("reboot_needed") is True
                     and any(line["line"] == "xen" and "dom0_mem=2048M,max:2048M" in line["configured"]
                             for line in dom0kit["boot"]["lines"])
                     # Configured by the demo's spec, not in the demo's running line: XAPI's word for it.
                     and {"device": "0000:04:00.0", "dom0_access": "disable_on_reboot"} in dom0kit["boot"].get("devices", [])
                     and dom0kit["boot"].get("xapi_cannot_read") == []
                     and [pack["identity"] for pack in dom0kit.get("packs", [])] == ["dom0kit:demo-tools"]
                     and bool(dom0kit.get("version")), json.dumps(dom0kit)[:600])
        root = hostvars(inventory)[host]["dom0kit_root"]
        agent = subprocess.run([str(binary.with_name("pciback-agent")), "health", "--json", "--root", root],
                               capture_output=True, text=True)
        checks.check(f"{host}: the health facts are pciback-agent health --json's checks",
                     settled(health.get("checks")) == settled(json.loads(agent.stdout or "{}").get("report", {}).get("results")), agent.stdout[:400])


def settled(results):
    """Health results with the figures of live measures (how full a disk is, which moves between
    two runs on a busy machine) replaced by N: what, status and the rest of every hint compared."""
    def settle(result):
        if result.get("what", "").startswith("dom0 disk /") and "hint" in result:
            return dict(result, hint=re.sub(r"[0-9]+", "N", result["hint"]))
        return result
    return [settle(result) for result in results or []]


def second_rollout(checks, inventory):
    print("second rollout", flush=True)
    before = digests(inventory)
    rc, output = playbook(inventory, ROLLOUT)
    stats = output["stats"]
    made = task_results(output, MAKE)
    checks.check("changed=0 on every host", all(stats[host]["changed"] == 0 for host in fleet.HOSTS), json.dumps(stats))
    for host in ACCEPTED:
        checks.check(f"{host}: ok, nothing planned", made.get(host, {}).get("changed") is False
                     and made[host].get("changes") == [] and stats[host]["failures"] == 0)
    checks.check("no byte of any host tree changed", before == digests(inventory))


def modules(checks, inventory):
    print("each module: Tests/ansible/modules.yml", flush=True)
    rc, output = playbook(inventory, str(HERE / "modules.yml"))
    failed = {host: result.get("msg") for play in output["plays"] for task in play["tasks"]
              for host, result in task["hosts"].items() if result.get("failed") and not expected_to_fail(task["task"]["name"])}
    checks.check("every assert holds on every host", rc == 0 and not failed, json.dumps(failed)[:800])
    asserted = task_results(output, "What supp_pack did is what it said")
    checks.check("the asserts ran on xen-a, xen-c and xen-d", sorted(asserted) == ACCEPTED)


def expected_to_fail(task):
    """modules.yml's tasks that must fail (their asserts say how): named here or 'Hostile: …'."""
    return task.startswith("Hostile: ") or task in (
        "No host-prepare in PATH", "A spec Dom0Kit cannot read", "A binary that is not host-prepare",
        "A step that fails at apply (planning reads only the pack's metadata)", "A pack named without its originator")


def readme_output(checks, directory, binary):
    """The README shows script/fleet-demo's output: its play recap must be what the rollout prints."""
    print("README: Many hosts", flush=True)
    readme = (fleet.REPOSITORY / "README.md").read_text()
    playbook_file = (fleet.COLLECTIONS / "ansible_collections/dom0kit/xen/playbooks/rolling_rollout.yml").read_text()
    shown_playbook = re.search(r"## Many hosts.*?```yaml\n(- name: Roll.*?)```", readme, re.S)
    checks.check("the README shows the playbook as the collection ships it", shown_playbook is not None
                 and playbook_file.endswith(shown_playbook.group(1)))
    pool = re.search(r"```yaml\n# pool.yml\n(.*?)```", readme, re.S)
    if checks.check("the README shows an example inventory (pool.yml)", pool is not None):
        example = Path(directory) / "pool.yml"
        example.write_text(pool.group(1))
        listed = subprocess.run(["ansible-inventory", "-i", str(example), "--list"], capture_output=True, text=True,
                                env=fleet.environment())
        spec = json.loads(listed.stdout or "{}").get("_meta", {}).get("hostvars", {}).get("xcp-01", {}).get("dom0kit_spec")
        spec_file = Path(directory) / "readme-spec.json"
        spec_file.write_text(json.dumps(spec))
        demo = Path(directory) / "readme-demo"
        subprocess.run([str(binary), "demo", str(demo)], check=True, stdout=subprocess.DEVNULL)
        planned = subprocess.run([str(binary), "plan", str(spec_file), "--root", str(demo / "root"), "--json"],
                                 capture_output=True, text=True)
        checks.check("its inline spec, as Ansible reads it, is one host-prepare plans", spec is not None
                     and planned.returncode == 0, listed.stderr + planned.stderr)
    shown = re.search(r"## Many hosts.*?PLAY RECAP \**\n(.*?)```", readme, re.S)
    if not checks.check("the README shows a play recap under 'Many hosts'", shown is not None):
        return
    inventory = fleet.build(Path(directory) / "readme", binary)
    rc, text = playbook(inventory, ROLLOUT, callback="default")
    printed = re.search(r"PLAY RECAP \**\n(.*?)(?:\n\n|\Z)", text, re.S)

    def rows(block):
        return [" ".join(line.split()) for line in block.strip().splitlines()]
    checks.check("the recap is the one the README shows", printed is not None
                 and rows(printed.group(1)) == rows(shown.group(1)), text[-1200:])


def packaged(checks, directory):
    print("ansible-galaxy: build, install, ansible-doc", flush=True)
    source = fleet.COLLECTIONS / "ansible_collections/dom0kit/xen"
    built = subprocess.run(["ansible-galaxy", "collection", "build", str(source), "--output-path", directory],
                           capture_output=True, text=True)
    archives = sorted(Path(directory).glob("dom0kit-xen-*.tar.gz"))
    if not checks.check("ansible-galaxy collection build", built.returncode == 0 and len(archives) == 1,
                        built.stdout + built.stderr):
        return
    installed = Path(directory) / "installed"
    result = subprocess.run(["ansible-galaxy", "collection", "install", "-p", str(installed), str(archives[0])],
                            capture_output=True, text=True)
    checks.check("ansible-galaxy collection install", result.returncode == 0, result.stdout + result.stderr)
    for module in ("host", "supp_pack", "facts"):
        doc = subprocess.run(["ansible-doc", "--json", f"dom0kit.xen.{module}"], capture_output=True, text=True,
                             env=fleet.environment(ANSIBLE_COLLECTIONS_PATH=str(installed)))
        documented = json.loads(doc.stdout or "{}").get(f"dom0kit.xen.{module}", {})
        checks.check(f"ansible-doc dom0kit.xen.{module}: options, examples, return values, from the installed copy",
                     str(installed) in documented.get("doc", {}).get("filename", "")
                     and documented["doc"].get("options") and documented.get("examples") and documented.get("return"),
                     (doc.stdout + doc.stderr)[:400])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(fleet.REPOSITORY / ".build-test/release/host-prepare"),
                        help="the host-prepare to drive (default: script/test-build's)")
    arguments = parser.parse_args()
    binary = Path(arguments.binary).resolve()
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="dom0kit-ansible-") as directory:
        inventory = fleet.build(directory, binary)
        interpreter = hostvars(inventory)["xen-a"]["ansible_python_interpreter"]
        print(f"pool: {', '.join(fleet.HOSTS)} in {directory}; xen-a's modules run on Python "
              f"{fleet.python_version(interpreter)} ({interpreter})", flush=True)
        check_mode(checks, inventory)
        first_rollout(checks, inventory, binary)
        second_rollout(checks, inventory)
        modules(checks, inventory)
        readme_output(checks, directory, binary)
        packaged(checks, directory)
    return checks.verdict("ansible")


if __name__ == "__main__":
    sys.exit(main())
