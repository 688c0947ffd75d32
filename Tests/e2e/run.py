#!/usr/bin/env python3
"""Dom0Kit's end-to-end scenarios: real kernels, Xen and udev under QEMU (TCG).

Each scenario in Tests/e2e/scenarios is a busybox shell script that runs as the guest's job,
with a header saying how to boot it:

    # e2e-summary: one line for --list
    # e2e-kernel: native | xen | disk   (xen: Xen 4.17 with the kernel as dom0; disk: the first-boot
                                        machine, a whole disk prepared by Dom0Kit, see firstboot.py)
    # e2e-qemu: QEMU arguments (machine, devices); may repeat
    # e2e-append: kernel (dom0) arguments
    # e2e-xen-append: Xen arguments
    # e2e-rootdisk: yes                  (the root filesystem on a virtio disk, switched into)
    # e2e-smp: CPUs                      (default 1)
    # e2e-memory: MiB                    (default 1536 under Xen, 1024 native)
    # e2e-spec: FILE                     (a host spec beside the scenario; Xen, or the native kernel,
                                        boots with the arguments `host-prepare apply` of it writes,
                                        see apply_spec)
    # e2e-spec-kernel: RELEASE           (native: the kernel the spec's host tree says it boots, when
                                        not the one booted, to take an older kernel's path)
    # e2e-timeout: seconds

The guest prints verdicts on its serial console ("E2E-VERDICT PASS|FAIL name: detail", see
guest/lib.sh), may ask for QEMU monitor commands ("E2E-QMP {json}") and ends with "E2E-DONE".
A scenario passes when it ran to the end, gave at least one verdict and none failed; otherwise
its whole console log is printed.

Debian's packages (kernel, Xen, busybox, udev, xl, virt-host-validate) are fetched with `apt-get download` from the
configured archive and cached under $DOM0KIT_CACHE (default ~/.cache/dom0kit)/e2e; a second run
reuses them and the guest tree built from them.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
sys.path[:0] = [str(HERE), str(HERE.parent)]
import firstboot  # noqa: E402  (beside this file)
from harness import run  # noqa: E402  (the Python suites' one way to run a program)
SCENARIOS = HERE / "scenarios"
GUEST = HERE / "guest"
CACHE = Path(os.environ.get("DOM0KIT_CACHE") or Path.home() / ".cache" / "dom0kit") / "e2e"

# Debian packages the guests are built from; the kernel's versioned name is found at run time.
PACKAGES = [
    "xen-hypervisor-4.17-amd64", "busybox-static", "udev", "libudev1", "systemd",
    "xen-utils-4.17", "libxenmisc4.17", "libxencall1", "libxenevtchn1", "libxenforeignmemory1",
    "libxengnttab1", "libxenstore4", "libxentoollog1", "libxendevicemodel1", "libxenhypfs1",
    "libxentoolcore1", "libyajl2", "libvirt-clients", "libvirt0", "libssh-4",
]
# Kernel modules every guest carries (with their dependencies).
MODULES = [
    "e1000", "pci-stub", "vfio-pci", "vfio_iommu_type1", "xen-pciback", "virtio_pci", "virtio_blk", "ext4",
    "crc32c_generic", "xenfs", "xen-evtchn", "xen-privcmd", "xen-gntdev", "xen-gntalloc",
    "kvm_amd", "kvm_intel", "tun", "vhost_net",
]
# Programs from the packages, with the libraries they link.
PROGRAMS = [
    "/usr/lib/xen-4.17/bin/xl", "/usr/lib/xen-4.17/bin/xenstored", "/usr/lib/xen-4.17/bin/xen-init-dom0",
    "/bin/udevadm", "/usr/bin/virt-host-validate",
]
# Test scaffolding that must never be in the shipped binary: the kernel simulator and fake
# hosts, the fake tree's marker, crash injection.
SCAFFOLDING = [b"KernelSimulator", b"FakeHost", b"SysfsTree", b"/.fakehost", b"CRASH_AFTER_STEP"]


def log(message):
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# Scenarios


class Scenario:
    def __init__(self, path):
        self.path = path
        self.name = path.stem
        self.summary = ""
        self.kernel = "native"
        self.qemu = []
        self.append = []
        self.xen_append = []
        self.rootdisk = False
        self.timeout = 300
        self.smp = 1
        self.memory = None
        self.spec = None
        self.spec_kernel = None
        for line in path.read_text().splitlines():
            match = re.match(r"#\s*e2e-([a-z-]+):\s*(.*)$", line)
            if not match:
                continue
            key, value = match.group(1), match.group(2).strip()
            if key == "summary":
                self.summary = value
            elif key == "kernel":
                if value not in ("native", "xen", "disk"):
                    raise SystemExit(f"{path}: e2e-kernel is native, xen or disk, not {value!r}")
                self.kernel = value
            elif key == "qemu":
                self.qemu += value.split()
            elif key == "append":
                self.append += value.split()
            elif key == "xen-append":
                self.xen_append += value.split()
            elif key == "rootdisk":
                self.rootdisk = value == "yes"
            elif key == "timeout":
                self.timeout = int(value)
            elif key == "smp":
                self.smp = int(value)
            elif key == "memory":
                self.memory = int(value)
            elif key == "spec":
                self.spec = path.parent / value
                if not self.spec.is_file():
                    raise SystemExit(f"{path}: e2e-spec names {value}, which is not beside it")
            elif key == "spec-kernel":
                self.spec_kernel = value
            else:
                raise SystemExit(f"{path}: unknown header e2e-{key}")


def scenarios():
    return [Scenario(path) for path in sorted(SCENARIOS.glob("*.sh"))]


# ---------------------------------------------------------------------------------------------
# Debian's packages, downloaded once


def apt_update_once(state={"done": False}):
    if not state["done"]:
        run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL, capture=False)
        state["done"] = True


def kernel_package():
    """linux-image-amd64's versioned kernel package (linux-image-6.1.0-NN-amd64)."""
    for attempt in range(2):
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True).stdout
        match = re.search(r"Depends:\s*(linux-image-[0-9][^\s]*-amd64)", out)
        if match:
            return match.group(1)
        apt_update_once()
    raise SystemExit("e2e: apt knows no linux-image-amd64; is Debian's archive configured?")


def fetch_packages():
    """The .deb files, from the cache or downloaded into it; returns (debs, manifest digest)."""
    debs_dir = CACHE / "debs"
    manifest = debs_dir / "manifest"
    if manifest.exists():
        names = manifest.read_text().split()
        # A cache from before a package was added to PACKAGES is fetched again.
        if names and all((debs_dir / name).exists() for name in names) \
                and all(any(name.startswith(package + "_") for name in names) for package in PACKAGES):
            return [debs_dir / name for name in names], hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
    wanted = [kernel_package()] + PACKAGES
    staging = Path(tempfile.mkdtemp(prefix="debs.", dir=CACHE))
    log(f"e2e: downloading {len(wanted)} Debian packages into {debs_dir}")
    for attempt in range(2):
        result = subprocess.run(["apt-get", "download", "-q"] + wanted, cwd=staging, capture_output=True, text=True)
        if result.returncode == 0:
            break
        if attempt == 0:
            apt_update_once()  # stale lists name versions the archive no longer has
            continue
        raise SystemExit(f"e2e: apt-get download failed:\n{result.stderr}")
    if debs_dir.exists():
        shutil.rmtree(debs_dir)
    staging.rename(debs_dir)
    names = sorted(p.name for p in debs_dir.glob("*.deb"))
    manifest.write_text("\n".join(names) + "\n")
    return [debs_dir / name for name in names], hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# The guest tree


def libraries(binary, library_path):
    """The shared libraries `binary` loads (ldd, with the unpacked packages searched first)."""
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(str(p) for p in library_path))
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=env)
    if out.returncode != 0 and "not a dynamic executable" in out.stdout + out.stderr:
        return []
    found = []
    for line in out.stdout.splitlines():
        if "not found" in line:
            raise SystemExit(f"e2e: {binary} needs {line.split()[0]}, which neither the packages nor this machine has")
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            found.append(Path(match.group(1)))
    return found


def install_with_libraries(binary, guest_path, tree, sysroot):
    """Copies `binary` to `guest_path` in `tree` with every library it links at the path the
    loader looks for it (a library from the unpacked packages at its path inside them)."""
    target = tree / guest_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, target, follow_symlinks=True)
    library_path = [sysroot / "usr/lib/x86_64-linux-gnu", sysroot / "lib/x86_64-linux-gnu"]
    for library in libraries(binary, library_path):
        path = str(library)
        if path.startswith(str(sysroot) + "/"):
            path = path[len(str(sysroot)):]
        destination = tree / path.lstrip("/")
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(library, destination, follow_symlinks=True)


def module_closure(modules_dir, wanted):
    """The module files for `wanted` and everything they depend on (modules.dep)."""
    deps = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
    by_name = {Path(p).name.split(".ko")[0].replace("-", "_"): p for p in deps}
    result, pending = set(), []
    for name in wanted:
        key = name.replace("-", "_")
        if key not in by_name:
            raise SystemExit(f"e2e: the kernel has no module {name}")
        pending.append(by_name[key])
    while pending:
        path = pending.pop()
        if path not in result:
            result.add(path)
            pending += deps[path]
    return sorted(result)


def digest_of(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
    return h.hexdigest()[:16]


def base_tree(debs, packages_digest):
    """The guest tree without Dom0Kit: busybox, modules, xl and xenstored, udevd; cached."""
    guest_files = sorted(GUEST.iterdir())
    key = digest_of(Path(__file__).read_bytes(), packages_digest, *[f.name.encode() + f.read_bytes() for f in guest_files])
    base = CACHE / f"base-{key}"
    if (base / ".complete").exists():
        return base, Path((base / ".kernel").read_text())
    for old in CACHE.glob("base-*"):
        shutil.rmtree(old, ignore_errors=True)
    log("e2e: building the guest tree from the packages")
    sysroot = CACHE / f"sysroot-{packages_digest}"
    if not (sysroot / ".complete").exists():
        for old in CACHE.glob("sysroot-*"):
            shutil.rmtree(old, ignore_errors=True)
        sysroot.mkdir(parents=True)
        for deb in debs:
            run(["dpkg-deb", "-x", str(deb), str(sysroot)], capture=False)
        # The package leaves modules.dep to its postinst: make it, with the host's depmod.
        for release in (sysroot / "lib/modules").iterdir():
            run(["depmod", "-b", str(sysroot), release.name], capture=False)
        (sysroot / ".complete").write_text("")
    tree = base / "tree"
    tree.mkdir(parents=True)
    for directory in ["bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "run", "tmp", "etc", "root",
                      "var/lib/xen", "var/log/xen", "var/run", "lib/systemd", "e2e"]:
        (tree / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy2(sysroot / "bin/busybox", tree / "bin/busybox")
    for applet in ["sh", "mount", "modprobe"]:
        (tree / "bin" / applet).symlink_to("busybox")
    shutil.copy2(GUEST / "init", tree / "init")
    for script in GUEST.glob("*.sh"):  # lib.sh and the checks scenarios share
        shutil.copy2(script, tree / "e2e" / script.name)
    (tree / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (tree / "etc/group").write_text("root:x:0:\n")
    (tree / "etc/xen").mkdir()
    (tree / "etc/xen/xl.conf").write_text("# xl's defaults\n")

    # The kernel and the modules the scenarios load.
    kernels = sorted((sysroot / "lib/modules").iterdir())
    release = kernels[-1].name
    modules_dir = sysroot / "lib/modules" / release
    guest_modules = tree / "lib/modules" / release
    for relative in module_closure(modules_dir, MODULES):
        destination = guest_modules / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(modules_dir / relative, destination)
    for name in ["modules.dep", "modules.alias", "modules.builtin", "modules.order", "modules.softdep", "modules.symbols"]:
        if (modules_dir / name).exists():
            shutil.copy2(modules_dir / name, guest_modules / name)

    for program in PROGRAMS:
        install_with_libraries(sysroot / program.lstrip("/"), program, tree, sysroot)
    # Debian's udevadm runs as the daemon when so named.
    (tree / "lib/systemd/systemd-udevd").symlink_to("/bin/udevadm")
    (tree / "usr/sbin/xl").symlink_to("/usr/lib/xen-4.17/bin/xl")

    # Debian hosts keep the kernel's configuration in /boot; health reads it (CONFIG_CGROUP_BPF).
    (tree / "boot").mkdir(exist_ok=True)
    shutil.copy2(sysroot / "boot" / f"config-{release}", tree / "boot" / f"config-{release}")
    (base / ".kernel").write_text(str(sysroot / "boot" / f"vmlinuz-{release}"))
    xen = next((sysroot / "boot").glob("xen-4.17-amd64.gz"))
    run(["sh", "-c", f"gunzip -c '{xen}' > '{base / 'xen'}'"], capture=False)
    cpio(tree, base / "base.cpio")
    (base / ".complete").write_text("")
    return base, Path((base / ".kernel").read_text())


def cpio(tree, output):
    """A newc archive of `tree`, owned by root, uncompressed (TCG decompresses slowly)."""
    with open(output, "wb") as out:
        names = subprocess.run(["find", "."], cwd=tree, capture_output=True, check=True).stdout
        subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=tree, input=names, stdout=out, check=True)


def dom0kit_tree(binary, work, sysroot_for_libs):
    """The Dom0Kit part of the guest: the binary, a symlink per tool, and what it links."""
    tree = work / "dom0kit"
    install_with_libraries(binary, "/usr/bin/dom0kit", tree, sysroot_for_libs)
    tools = subprocess.run([str(binary), "--list-tools"], capture_output=True, text=True, check=True).stdout.split()
    for tool in tools:
        (tree / "usr/bin" / tool).symlink_to("dom0kit")
    # To run a tool as on a kernel without openat2 (XenServer 8's 4.19), on the guest's real one.
    subprocess.run(["cc", "-static", "-O2", "-o", str(tree / "usr/bin/without-openat2"),
                    str(REPOSITORY / "benchmarks/yardsticks/without-openat2.c")], check=True)
    return tree


# ---------------------------------------------------------------------------------------------
# Booting a scenario


class Guest:
    """One QEMU run: reads the serial console line by line and answers QMP requests."""

    def __init__(self, argv, qmp_path, transcript):
        self.transcript = transcript
        self.qmp_path = qmp_path
        self.qmp = None
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def lines(self, deadline):
        buffer = b""
        stream = self.process.stdout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([stream], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                if buffer:
                    yield buffer.decode(errors="replace")
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                yield line.rstrip(b"\r").decode(errors="replace")

    def send_qmp(self, command):
        if self.qmp is None:
            self.qmp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.qmp.connect(str(self.qmp_path))
            self.qmp_file = self.qmp.makefile("rwb")
            self.qmp_file.readline()  # the greeting
            self.qmp_exchange({"execute": "qmp_capabilities"})
        return self.qmp_exchange(json.loads(command))

    def qmp_exchange(self, message):
        self.qmp_file.write(json.dumps(message).encode() + b"\n")
        self.qmp_file.flush()
        while True:
            reply = json.loads(self.qmp_file.readline())
            if "event" not in reply:
                return reply

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.qmp is not None:
            self.qmp.close()


XEN_ARGUMENTS = ["console=com1", "com1=115200,8n1", "dom0_mem=768M,max:768M", "loglvl=all", "guest_loglvl=all", "noreboot"]


def apply_spec(binary, scenario, work, scenario_tree, kernel):
    """The arguments as Dom0Kit writes them: `host-prepare apply` of the scenario's spec on a host
    tree with Dom0Kit's units and, for Xen, a XenServer grub.cfg holding the harness's arguments
    (returns Xen's line), natively Debian's /etc/default/grub and the kernel in /boot (returns the
    kernel's added arguments). The guest gets what apply wrote (the boot configuration,
    /etc/dom0kit, the units), so its checks read the configuration the boot came from."""
    root = work / f"spec-root-{scenario.name}"
    grub = root / "boot/grub/grub.cfg"
    grub.parent.mkdir(parents=True)
    if scenario.kernel == "xen":
        grub.write_text("set default=0\nmenuentry 'XCP-ng' {\n\tmultiboot2 /boot/xen.gz " + " ".join(XEN_ARGUMENTS)
                        + "\n\tmodule2 /boot/vmlinuz console=hvc0\n\tmodule2 /boot/initrd.img\n}\n")
    else:
        (root / "etc/default").mkdir(parents=True)
        (root / "etc/default/grub").write_text('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=""\nGRUB_CMDLINE_LINUX=""\n')
        release = scenario.spec_kernel or kernel.name.removeprefix("vmlinuz-")
        (root / "boot" / f"vmlinuz-{release}").write_text("")
    units = root / "usr/lib/systemd/system"
    units.mkdir(parents=True)
    for unit in (REPOSITORY / "units").glob("*.service"):
        shutil.copy(unit, units / unit.name)
    shutil.copy(scenario.spec, work / f"{scenario.name}.yaml")
    result = subprocess.run([str(binary), "host-prepare", "apply", str(work / f"{scenario.name}.yaml"), "--root", str(root)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{scenario.name}: host-prepare apply of its spec failed: {result.stdout}{result.stderr}")
    for part in ["boot", "etc/default", "etc/dom0kit", "etc/systemd", "usr/lib/systemd"]:
        if (root / part).exists():
            shutil.copytree(root / part, scenario_tree / part, symlinks=True, dirs_exist_ok=True)
    if scenario.kernel == "xen":
        line = next(l for l in grub.read_text().splitlines() if l.strip().startswith("multiboot2"))
        return line.split()[2:]
    # What grub-mkconfig would put on the kernel's line, as the shell reads the file.
    read = subprocess.run(["bash", "-c", '. "$1"; printf %s "$GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT"', "-",
                           str(root / "etc/default/grub")], capture_output=True, text=True, check=True)
    return read.stdout.split()


def boot(scenario, base, kernel, work, binary, disk_machine=None):
    """Boots the scenario; returns (passed, verdicts, transcript, seconds)."""
    if scenario.kernel == "disk":
        return watch(scenario, disk_machine(scenario), None)
    scenario_tree = work / f"scenario-{scenario.name}"
    (scenario_tree / "e2e").mkdir(parents=True)
    shutil.copy2(scenario.path, scenario_tree / "e2e/scenario.sh")
    xen_args = XEN_ARGUMENTS + scenario.xen_append
    spec_append = []
    if scenario.spec and scenario.kernel == "xen":
        xen_args = apply_spec(binary, scenario, work, scenario_tree, kernel) + scenario.xen_append
    elif scenario.spec:
        spec_append = apply_spec(binary, scenario, work, scenario_tree, kernel)
    initrd = work / f"{scenario.name}.cpio"
    cpio(scenario_tree, work / f"{scenario.name}.part.cpio")
    with open(initrd, "wb") as out:
        for part in [base / "base.cpio", work / "dom0kit.cpio", work / f"{scenario.name}.part.cpio"]:
            with open(part, "rb") as source:
                shutil.copyfileobj(source, out)

    qemu = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "Haswell-noTSX", "-smp", str(scenario.smp), "-nodefaults",
            "-no-user-config", "-display", "none", "-vga", "none", "-serial", "stdio", "-no-reboot"]
    qmp_path = work / f"{scenario.name}.qmp"
    qemu += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    append = ["quiet", "panic=-1"] + spec_append + scenario.append
    if scenario.rootdisk:
        image = work / f"{scenario.name}.ext4"
        merged = work / f"{scenario.name}.root"
        shutil.copytree(base / "tree", merged, symlinks=True)
        shutil.copytree(work / "dom0kit", merged, symlinks=True, dirs_exist_ok=True)
        shutil.copytree(scenario_tree, merged, symlinks=True, dirs_exist_ok=True)
        with open(image, "wb") as disk:
            disk.truncate(512 << 20)
        run(["mkfs.ext4", "-q", "-F", "-L", "e2e-root", "-d", str(merged), str(image)], capture=False)
        qemu += ["-drive", f"file={image},if=none,id=rootdisk,format=raw",
                 "-device", "virtio-blk-pci,drive=rootdisk,addr=0x5"]
        append.append("e2e_root=/dev/vda")
    if scenario.kernel == "xen":
        dom0_args = ["console=hvc0"] + append
        # QEMU's multiboot modules are "file args,file args": commas inside arguments are doubled.
        modules = f"{kernel} {' '.join(dom0_args)}".replace(",", ",,") + f",{initrd}"
        qemu += ["-m", str(scenario.memory or 1536), "-kernel", str(base / "xen"), "-append", " ".join(xen_args), "-initrd", modules]
    else:
        # no_timer_check: under TCG on a busy host the kernel's boot-time check that the IO-APIC
        # timer ticks can miss its window, and with interrupt remapping (q35 + intel-iommu) that
        # is a panic before anything under test runs; virtual machines skip the check as a rule.
        qemu += ["-m", str(scenario.memory or 1024), "-kernel", str(kernel), "-initrd", str(initrd),
                 "-append", " ".join(["console=ttyS0", "no_timer_check"] + append)]
    qemu += scenario.qemu
    return watch(scenario, qemu, qmp_path)


def watch(scenario, qemu, qmp_path):
    """Runs QEMU until the guest says E2E-DONE (or the scenario's time is up), answering its QMP
    requests; returns (passed, verdicts, transcript, seconds)."""
    transcript = ["$ " + " ".join(qemu)]
    verdicts = []
    done = False
    started = time.monotonic()
    guest = Guest(qemu, qmp_path, transcript)
    try:
        for line in guest.lines(started + scenario.timeout):
            transcript.append(f"[{time.monotonic() - started:6.1f}] {line}")
            verdict = re.search(r"E2E-VERDICT (PASS|FAIL) (.*)$", line)
            if verdict:
                verdicts.append((verdict.group(1), verdict.group(2)))
            request = re.search(r"E2E-QMP (\{.*\})\s*$", line)
            if request:
                try:
                    transcript.append(f"[host] QMP {request.group(1)} -> {json.dumps(guest.send_qmp(request.group(1)))}")
                except (OSError, ValueError) as error:
                    transcript.append(f"[host] QMP {request.group(1)} failed: {error}")
                    verdicts.append(("FAIL", f"QMP request: {error}"))
            if "E2E-DONE" in line:
                done = True
                break
    except TimeoutError:
        transcript.append(f"[host] timed out after {scenario.timeout} s")
    finally:
        guest.stop()
    seconds = time.monotonic() - started
    if not done:
        verdicts.append(("FAIL", "the guest did not finish (no E2E-DONE)"))
    passed = done and bool(verdicts) and all(status == "PASS" for status, _ in verdicts)
    return passed, verdicts, transcript, seconds


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description="Run Dom0Kit's end-to-end scenarios under QEMU (TCG).")
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--list", action="store_true", help="name the scenarios and exit")
    parser.add_argument("--prepare", action="store_true",
                        help="fetch and build what the guests boot (packages, guest tree, first-boot's root) and exit")
    parser.add_argument("--binary", required=not {"--list", "--prepare"} & set(sys.argv), help="the dom0kit binary to test")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="guests booted at once")
    parser.add_argument("--logs", help="directory for each scenario's console log")
    parser.add_argument("--dist", help="installer/package.sh's packages of BINARY, for first-boot (default: built here)")
    args = parser.parse_args()

    known = scenarios()
    if args.list:
        for scenario in known:
            log(f"{scenario.name:<22} {scenario.summary}")
        return 0
    by_name = {s.name: s for s in known}
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        log(f"e2e: no scenario {', '.join(unknown)}; --list names them")
        return 64
    chosen = [by_name[n] for n in args.names] if args.names else known
    if any(s.kernel == "disk" for s in chosen) and os.geteuid() != 0:
        log("e2e: the first-boot scenario mounts disk images and needs root")
        return 1

    CACHE.mkdir(parents=True, exist_ok=True)
    debs, packages_digest = fetch_packages()
    base, kernel = base_tree(debs, packages_digest)
    if args.prepare:
        if any(s.kernel == "disk" for s in chosen):
            firstboot.cached_root(CACHE, log)
        log(f"e2e: prepared in {CACHE}")
        return 0
    sysroot = CACHE / f"sysroot-{packages_digest}"
    logs = Path(args.logs) if args.logs else None
    if logs:
        logs.mkdir(parents=True, exist_ok=True)

    # Not a guest, but the same artefact: what ships must hold no test scaffolding.
    content = Path(args.binary).read_bytes()
    found = [word.decode() for word in SCAFFOLDING if word in content]
    log(f"{'FAIL' if found else 'PASS'} the binary under test holds no test scaffolding"
        + (f": {', '.join(found)}" if found else f" ({', '.join(w.decode() for w in SCAFFOLDING)})"))

    with tempfile.TemporaryDirectory(prefix="dom0kit-e2e.") as temporary:
        work = Path(temporary)
        cpio(dom0kit_tree(Path(args.binary), work, sysroot), work / "dom0kit.cpio")

        def disk_machine(scenario):
            """The first-boot machine: the packages built from the binary, the disk prepared by it."""
            dist = Path(args.dist) if args.dist else work / "dist"
            if not args.dist:
                subprocess.run([str(REPOSITORY / "installer/package.sh"), "--binary", args.binary, "--output", str(dist)],
                               check=True, stdout=subprocess.DEVNULL)
            deb = next(dist.glob("dom0kit_*_amd64.deb"))
            started = time.monotonic()
            machine = firstboot.prepare(Path(args.binary), deb, scenario.path, work, CACHE, log)
            log(f"e2e: {scenario.name}: disk prepared in {time.monotonic() - started:.0f} s")
            return machine

        log(f"e2e: {len(chosen)} scenario(s), {args.jobs} at a time, kernel {kernel.name}")
        failed = 0
        total = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(boot, s, base, kernel, work, Path(args.binary), disk_machine): s for s in chosen}
            for future in concurrent.futures.as_completed(futures):
                scenario = futures[future]
                passed, verdicts, transcript, seconds = future.result()
                if logs:
                    (logs / f"{scenario.name}.log").write_text("\n".join(transcript) + "\n")
                log(f"{'PASS' if passed else 'FAIL'} {scenario.name} ({seconds:.1f} s, {len(verdicts)} verdicts)")
                # Each boot's start (Xen's banner) and when its checks ran, for a scenario that reboots.
                starts = [line.split("]")[0].strip("[ ") for line in transcript if "(XEN) Xen version" in line]
                if len(starts) > 1:
                    log(f"    boots started at {', '.join(s + ' s' for s in starts)}; ended at {seconds:.1f} s")
                for status, text in verdicts:
                    log(f"    {status} {text}")
                if not passed:
                    failed += 1
                    log(f"---- {scenario.name}: the guest's console ----")
                    for line in transcript:
                        log(f"  {line}")
                    log(f"---- end of {scenario.name} ----")
        log(f"e2e: all scenarios in {time.monotonic() - total:.0f} s")
        failed += bool(found)
        log(f"e2e: {len(chosen) + 1 - failed} passed, {failed} failed")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
