#!/usr/bin/env python3
"""A pool of demo Xen hosts for the dom0kit.xen collection: script/fleet-demo and script/ansible.

Each host is a demo host tree (`host-prepare demo`, already prepared with the demo's own spec),
reached with Ansible's local connection and its own `dom0kit_root`:

- xen-a, xen-c: the pool's spec, inline (group vars). xen-a runs its modules on the oldest
  Python 3 found here (the collection's floor is 3.6, XCP-ng 8.3's dom0 Python).
- xen-b: the pool's spec plus `agent: {enable: true}` — its tree has no pciback-agent.service,
  so Dom0Kit refuses the spec (exit 2) and xen-b fails alone.
- xen-d: the same spec as a file on the host (`dom0kit_spec_path`).

The pool's spec changes what the demo left: dom0 memory (a boot command line, so a reboot is
needed) and control.slice's weight.

    fleet.py [DIR [ansible-playbook arguments]]   build the pool in DIR (default: a new
                                                  temporary directory) and roll the spec out
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
COLLECTIONS = REPOSITORY / "ansible"
ROLLOUT = "dom0kit.xen.rolling_rollout"   # the collection's playbook, by its name
HOSTS = ["xen-a", "xen-b", "xen-c", "xen-d"]
REFUSED = "xen-b"
POOL_SPEC = {
    "boot": {"dom0_mem": {"min": "2048M", "max": "2048M"}},
    "control_slice": {"weight": 800},
}


def oldest_python():
    """The oldest Python 3 interpreter on this machine at or above the collection's 3.6 floor:
    pyenv's, where pyenv is installed, else the one running this."""
    found = []
    for path in glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")):
        version = tuple(int(part) for part in Path(path).parents[1].name.split(".")[:2])
        if version >= (3, 6):
            found.append((version, path))
    return min(found)[1] if found else sys.executable


def python_version(interpreter):
    return subprocess.run([interpreter, "-c", "import platform; print(platform.python_version())"],
                          check=True, capture_output=True, text=True).stdout.strip()


def build(directory, binary):
    """Demo host trees and an inventory in DIRECTORY; returns the inventory's path."""
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    hosts = {}
    for name in HOSTS:
        tree = directory / name
        if tree.exists():
            shutil.rmtree(tree)
        subprocess.run([str(binary), "demo", str(tree)], check=True, stdout=subprocess.DEVNULL)
        hosts[name] = {"dom0kit_root": str(tree / "root"), "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts["xen-a"]["ansible_python_interpreter"] = oldest_python()
    hosts[REFUSED]["dom0kit_spec"] = dict(POOL_SPEC, agent={"enable": True})
    spec_file = directory / "xen-d" / "pool-spec.json"
    spec_file.write_text(json.dumps(POOL_SPEC, indent=2) + "\n")
    hosts["xen-d"]["dom0kit_spec_path"] = str(spec_file)
    inventory = {
        "xen_hosts": {
            "hosts": hosts,
            "vars": {
                "ansible_connection": "local",
                "dom0kit_binary": str(binary),
                "dom0kit_spec": POOL_SPEC,
            },
        }
    }
    path = directory / "pool.json"   # JSON is YAML: ansible-playbook -i reads it
    path.write_text(json.dumps(inventory, indent=2) + "\n")
    return path


def environment(**extra):
    """ansible-playbook's environment: the collection from this checkout, no host-key or
    retry-file side effects, a stable output."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
    )
    env.update(extra)
    return env


def main():
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="dom0kit-pool-"))
    binary = REPOSITORY / ".build/debug/host-prepare"
    inventory = build(directory, binary)
    command = ["ansible-playbook", "-i", str(inventory), ROLLOUT] + sys.argv[2:]
    print(f"pool: {', '.join(HOSTS)} in {directory} (inventory {inventory.name})", flush=True)
    return subprocess.run(command, env=environment()).returncode


if __name__ == "__main__":
    sys.exit(main())
