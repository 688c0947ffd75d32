#!/usr/bin/env python3
"""Dom0Kit's packages on older and other userlands: script/portable.

Builds (once, cached) a Debian 11 root with mmdebstrap — glibc 2.31, systemd 247 — and from its
libraries a root laid out as RHEL and CentOS 7 lay theirs out: libraries only in /usr/lib64, no
multiarch directories, no glibc at all (the package brings its own), no libsystemd-shared (as
systemd 219), and libcrypto under CentOS 7's name, libcrypto.so.10. Then:

- bullseye: the .deb installed with dpkg --root; in a chroot every tool answers, xen-cmdline reads
  a grub.cfg, supp-pack verifies a pack (libarchive and libcrypto found, -v says which), host-prepare
  plans a spec (libyaml found), control-slice generates CPUWeight= for systemd 247, the units pass
  systemd-analyze verify and udevadm test shows the rule asking for pciback-agent.service; dpkg
  --purge leaves the root as it was.
- rhel-layout: Dom0Kit's own supplemental pack ISO verified and installed by supp-pack into an
  rpm --initdb root (rpm -Uvh runs there); the same checks, with CPUShares= as systemd 219 needs;
  supp-pack remove leaves the root as it was.

Every check prints PASS or FAIL; exit 0 only when all pass.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPOSITORY / "Tests/e2e"), str(REPOSITORY / "Tests")]
import debian_roots  # noqa: E402  (shared with the first-boot scenario)
from harness import Checks, run  # noqa: E402
BULLSEYE_PACKAGES = ["libsystemd0", "libudev1", "udev", "libpci3", "libarchive13", "libssl1.1", "libyaml-0-2", "systemd",
                     "procps", "busybox-static"]
GLIBC = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2", "libutil.so.1",
         "ld-linux-x86-64.so.2"}
# The unit directives the shipped units may use: those systemd 219 (CentOS 7: XCP-ng 8.x, XenServer 8)
# documents in systemd.directives(7) and every later systemd still reads. ProtectSystem= takes only
# yes or full there (strict came in 232).
SYSTEMD_219_DIRECTIVES = {
    "Description", "Documentation", "After", "Before", "Wants", "Requires", "ConditionPathExists", "Type", "ExecStart",
    "ExecReload", "Restart", "RemainAfterExit", "TimeoutStartSec", "WatchdogSec", "RuntimeDirectory", "NoNewPrivileges",
    "CapabilityBoundingSet", "ProtectSystem", "ProtectHome", "PrivateTmp", "RestrictAddressFamilies",
    "SystemCallArchitectures", "WantedBy", "DefaultDependencies", "RequiresMountsFor", "Conflicts",
}
# What RHEL-family hosts are looked up for: the libraries the binary links and those it opens.
RHEL_LIBRARIES = {"libsystemd.so.0": None, "libudev.so.1": None, "libpci.so.3": None, "libarchive.so.13": None,
                  "libyaml-0.so.2": None, "libcrypto.so.1.1": "libcrypto.so.10"}


def snapshot(root, ignore):
    """Every path under root with its type, size and mode, but those under `ignore` prefixes."""
    entries = {}
    for directory, names, files in os.walk(root):
        relative = "/" + os.path.relpath(directory, root).lstrip(".")
        if any(relative.startswith(prefix) for prefix in ignore):
            names[:] = []
            continue
        for name in names + files:
            path = Path(directory) / name
            stat = path.lstat()
            entries[f"{relative.rstrip('/')}/{name}"] = (stat.st_mode, stat.st_size if not path.is_dir() else 0)
    return entries


class Root:
    """A root tree with /proc (and, when asked, /sys and /run) mounted for chroot, unmounted after."""

    def __init__(self, path, system=False):
        self.path = path
        self.mounts = []
        self.system = system

    def __enter__(self):
        self.mount(["-t", "proc", "proc"], "proc")
        if self.system:
            self.mount(["--rbind", "/sys"], "sys")
            subprocess.run(["mount", "--make-rslave", str(self.path / "sys")], check=True)
            self.mount(["-t", "tmpfs", "tmpfs"], "run")
        return self

    def mount(self, options, where):
        target = self.path / where
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount"] + options + [str(target)], check=True)
        self.mounts.append(target)

    def __exit__(self, *_):
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-R", str(target)], check=False)
        mounted = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        if any(point.startswith(str(self.path)) for point in mounted):
            raise RuntimeError(f"portable: {self.path} still has mounts; not removing it")

    def chroot(self, argv, **kwargs):
        return run(["chroot", str(self.path)] + argv, check=False, **kwargs)


def place_fixtures(path, iso):
    """A host's grub.cfg (XCP-ng 8.2's) and the pack to verify, put in before the root is snapshotted."""
    grub = path / "boot/grub/grub.cfg"
    grub.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPOSITORY / "Tests/TestSupport/Fixtures/boot/xcpng-8.2-bios.grub.cfg", grub)
    shutil.copy(iso, path / "tmp/pack.iso")


def shell_provider(work, path):
    """Registers the root's /bin/sh (busybox) with rpm, as a dom0's bash package does: the package's
    scriptlets need it."""
    top = work / "shell-rpm"
    (top / "SPECS").mkdir(parents=True)
    (top / "SPECS/shell.spec").write_text("Name: sandbox-shell\nVersion: 1\nRelease: 1\nSummary: /bin/sh of a test root\n"
                                          "License: MIT\nBuildArch: noarch\nProvides: /bin/sh\n%description\nbusybox as /bin/sh\n"
                                          "%files\n")
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", str(top / "SPECS/shell.spec")], check=True)
    package = next((top / "RPMS/noarch").glob("*.rpm"))
    subprocess.run(["rpm", "--root", str(path), "-i", "--quiet", str(package)], check=True, capture_output=True)


def tool_checks(checks, root, label, iso_inside, systemd_wants):
    """What every supported userland must do with the installed package."""
    tools = root.chroot(["/usr/bin/dom0kit", "--list-tools"]).stdout.split()
    checks.check(f"{label}: dom0kit --list-tools names the tools", len(tools) == 6, str(tools))
    for tool in tools:
        result = root.chroot([f"/usr/bin/{tool}", "--help"])
        checks.check(f"{label}: {tool} --help through its link", result.returncode == 0 and f"USAGE: {tool}" in result.stdout,
                     result.stderr[-400:])
    version = root.chroot(["xen-cmdline", "--version"])
    checks.check(f"{label}: xen-cmdline --version", version.returncode == 0, version.stderr)
    loader = root.chroot(["/usr/lib/dom0kit/ld-linux-x86-64.so.2", "--list", "/usr/bin/dom0kit"]).stdout
    libc = next((line for line in loader.splitlines() if "libc.so.6" in line), "")
    checks.check(f"{label}: libc is the package's own", "/usr/lib/dom0kit/libc.so.6" in libc, loader)

    consoles = root.chroot(["xen-cmdline", "--get-dom0", "console"])
    checks.check(f"{label}: xen-cmdline --get-dom0 console", consoles.stdout == "console=hvc0\nconsole=tty0\n",
                 consoles.stdout + consoles.stderr)

    verified = root.chroot(["supp-pack", "verify", "-v", iso_inside])
    checks.check(f"{label}: supp-pack verify of a pack", verified.returncode == 0 and "1 package verified" in verified.stdout,
                 verified.stdout + verified.stderr)
    return tools, verified.stderr


def spec_and_slice_checks(checks, root, label, shares):
    (root.path / "tmp/host.yaml").write_text("boot:\n  style: xenserver\n  hide: [0000:04:00.0]\ncontrol_slice:\n  weight: 1000\n")
    planned = root.chroot(["host-prepare", "plan", "-v", "/tmp/host.yaml"])
    checks.check(f"{label}: host-prepare plan of a spec", planned.returncode == 0 and "xen-pciback.hide=(0000:04:00.0)" in planned.stdout,
                 planned.stdout[-400:] + planned.stderr[-400:])
    checks.check(f"{label}: libyaml found (-v)", "loaded libyaml-0.so.2" in planned.stderr, planned.stderr[-400:])
    (root.path / "tmp/generated").mkdir(exist_ok=True)
    generated = root.chroot(["control-slice", "generate", "/tmp/generated"])
    slice_unit = (root.path / "tmp/generated/control.slice")
    text = slice_unit.read_text() if slice_unit.exists() else ""
    expected = "CPUShares=10240\n" if shares else "CPUWeight=1000\n"
    checks.check(f"{label}: control-slice generate writes {expected.strip()}", generated.returncode == 0 and expected in text
                 and ("CPUWeight" in text) != shares, generated.stderr + text)


def bullseye(checks, tarball, dist, version, work):
    print("bullseye: Debian 11, glibc 2.31, systemd 247; the .deb with dpkg --root", flush=True)
    path = work / "bullseye"
    path.mkdir()
    subprocess.run(["tar", "-C", str(path), "-xf", str(tarball)], check=True)
    ignore = ["/var/lib/dpkg", "/var/log", "/var/cache", "/tmp", "/proc", "/sys", "/run", "/dev"]
    place_fixtures(path, dist / f"dom0kit-{version}.iso")
    before = snapshot(path, ignore)
    deb = dist / f"dom0kit_{version}_amd64.deb"
    installed = run(["dpkg", "--root", str(path), "--install", str(deb)], check=False)
    checks.check("bullseye: dpkg --root --install", installed.returncode == 0, installed.stdout + installed.stderr)
    with Root(path, system=True) as root:
        tools, loaded = tool_checks(checks, root, "bullseye", "/tmp/pack.iso", True)
        checks.check("bullseye: libarchive and libcrypto found (-v)",
                     "loaded libarchive.so.13" in loaded and "loaded libcrypto.so.1.1" in loaded, loaded)
        spec_and_slice_checks(checks, root, "bullseye", shares=False)
        units = sorted(f"/usr/lib/systemd/system/{unit.name}" for unit in (REPOSITORY / "units").glob("*.service"))
        for unit in units:
            lines = [line for line in (path / unit.lstrip("/")).read_text().splitlines() if "=" in line and not line.startswith("#")]
            unknown = [line for line in lines if line.split("=", 1)[0] not in SYSTEMD_219_DIRECTIVES
                       or (line.startswith("ProtectSystem=") and line.split("=", 1)[1] not in ("yes", "full", "no"))]
            checks.check(f"bullseye: {Path(unit).name} uses only what systemd 219 reads", not unknown, str(unknown))
        verified = root.chroot(["systemd-analyze", "verify"] + units)
        checks.check("bullseye: systemd 247's systemd-analyze verify of the units", verified.returncode == 0 and not verified.stderr,
                     verified.stderr)
        device = sorted(os.listdir("/sys/bus/pci/devices"))[0]
        tested = root.chroot(["udevadm", "test", "--action=add", f"/sys/bus/pci/devices/{device}"])
        said = tested.stdout + tested.stderr
        checks.check("bullseye: udevadm test reads the rule and wants pciback-agent.service",
                     "85-dom0kit-pciback.rules" in said and "SYSTEMD_WANTS=pciback-agent.service" in said
                     and "Invalid" not in said, said[-600:])
    removed = run(["dpkg", "--root", str(path), "--purge", "dom0kit"], check=False)
    checks.check("bullseye: dpkg --purge", removed.returncode == 0, removed.stdout + removed.stderr)
    after = snapshot(path, ignore)
    left = sorted(set(after) - set(before)) + sorted(path for path in before if path not in after)
    checks.check("bullseye: purging leaves the root as it was", not left, str(left[:10]))
    return tools


def rhel_layout(checks, tarball, dist, version, work, binary):
    print("rhel-layout: /usr/lib64 only, no glibc of its own, no libsystemd-shared (systemd 219), libcrypto.so.10; "
          "Dom0Kit's pack installed by supp-pack", flush=True)
    source = work / "source"
    source.mkdir()
    subprocess.run(["tar", "-C", str(source), "-xf", str(tarball)], check=True)
    path = work / "rhel"
    # The directories a dom0's filesystem and systemd packages own; the package owns the rest it makes.
    for directory in ["usr/lib64", "usr/bin", "usr/sbin", "usr/lib/systemd/system", "usr/lib/systemd/system-generators",
                      "usr/lib/udev/rules.d", "usr/share/man/man1", "usr/share/doc", "etc/xensource/installed-repos", "tmp",
                      "proc", "run", "var/lib/rpm", "var/tmp", "boot"]:
        (path / directory).mkdir(parents=True, exist_ok=True)
    for link, target in [("lib64", "usr/lib64"), ("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib")]:
        (path / link).symlink_to(target)
    # The libraries and what they need, from bullseye, but never its glibc: the package brings one.
    with Root(source) as donor:
        wanted = {}
        for name, rename in RHEL_LIBRARIES.items():
            real = donor.chroot(["sh", "-c", f"readlink -f $(ldconfig -p | awk '$1 == \"{name}\" {{ print $NF; exit }}')"]).stdout.strip()
            wanted[rename or name] = real
            for line in donor.chroot(["ldd", real]).stdout.splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[1] == "=>" and parts[0] not in GLIBC:
                    wanted.setdefault(parts[0], donor.chroot(["readlink", "-f", parts[2]]).stdout.strip())
    for name, real in wanted.items():
        shutil.copy(source / real.lstrip("/"), path / "usr/lib64" / name)
    shutil.copy(source / "bin/busybox", path / "usr/bin/busybox")
    for applet in ["sh", "cat", "ls"]:
        (path / "usr/bin" / applet).symlink_to("busybox")
    shutil.rmtree(source)
    multiarch = [str(p) for p in path.rglob("x86_64-linux-gnu")]
    glibc = [name for name in os.listdir(path / "usr/lib64") if name in GLIBC]
    checks.check("rhel-layout: no multiarch directory and no glibc in the root", not multiarch and not glibc, str(multiarch + glibc))

    subprocess.run(["rpm", "--root", str(path), "--initdb"], check=True)
    shell_provider(work, path)
    iso = dist / f"dom0kit-{version}.iso"
    place_fixtures(path, iso)
    ignore = ["/var/lib/rpm", "/tmp", "/proc", "/run"]
    before = snapshot(path, ignore)
    installed = run([binary, "supp-pack", "install", str(iso), "--root", str(path)], check=False)
    checks.check("rhel-layout: supp-pack install of Dom0Kit's pack (rpm -Uvh into the root)", installed.returncode == 0,
                 installed.stdout[-600:] + installed.stderr[-600:])
    listed = run([binary, "supp-pack", "list", "--root", str(path)], check=False)
    checks.check("rhel-layout: supp-pack list shows dom0kit:dom0kit", f"dom0kit:dom0kit" in listed.stdout and version in listed.stdout,
                 listed.stdout + listed.stderr)
    queried = run(["rpm", "--root", str(path), "-q", "dom0kit"], check=False)
    checks.check("rhel-layout: rpm knows the package", queried.stdout.strip() == f"dom0kit-{version}-1.x86_64", queried.stdout)
    with Root(path) as root:
        _, loaded = tool_checks(checks, root, "rhel-layout", "/tmp/pack.iso", False)
        checks.check("rhel-layout: libarchive.so.13 and CentOS 7's libcrypto.so.10 found (-v)",
                     "loaded libarchive.so.13" in loaded and "loaded libcrypto.so.10" in loaded, loaded)
        listing = root.chroot(["/usr/lib/dom0kit/ld-linux-x86-64.so.2", "--list", "/usr/bin/dom0kit"]).stdout
        checks.check("rhel-layout: libsystemd, libudev, libpci from /usr/lib64",
                     all(f"{name} => /usr/lib64/{name}" in listing for name in ["libsystemd.so.0", "libudev.so.1", "libpci.so.3"]), listing)
        spec_and_slice_checks(checks, root, "rhel-layout", shares=True)
    removed = run([binary, "supp-pack", "remove", "dom0kit:dom0kit", "--root", str(path)], check=False)
    checks.check("rhel-layout: supp-pack remove (rpm -e)", removed.returncode == 0, removed.stdout + removed.stderr)
    after = snapshot(path, ignore)
    left = sorted(set(after) - set(before)) + sorted(p for p in before if p not in after)
    checks.check("rhel-layout: removing leaves the root as it was", not left, str(left[:10]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="the release dom0kit (runs supp-pack on this machine)")
    parser.add_argument("--dist", required=True, help="where installer/package.sh left the packages")
    parser.add_argument("--cache", default=os.environ.get("DOM0KIT_CACHE", str(Path.home() / ".cache/dom0kit")))
    arguments = parser.parse_args()
    dist = Path(arguments.dist)
    version = run([arguments.binary, "--version"], check=False).stdout.strip()
    tarball = debian_roots.cached_root("bullseye", BULLSEYE_PACKAGES, Path(arguments.cache) / "portable", "bullseye",
                                       lambda message: print(f"portable: {message}", flush=True))
    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="dom0kit-portable-"))
    try:
        bullseye(checks, tarball, dist, version, work)
        rhel_layout(checks, tarball, dist, version, work, arguments.binary)
    finally:
        mounted = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        if not any(point.startswith(str(work)) for point in mounted):
            shutil.rmtree(work, ignore_errors=True)
    return checks.verdict("portable")


if __name__ == "__main__":
    sys.exit(main())
