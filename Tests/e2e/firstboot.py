"""The first-boot scenario's machine: a disk prepared by Dom0Kit alone, booted for real.

The disk is a sparse 64 GiB image laid out and formatted by `dom0-partition apply --layout xs8
--firmware uefi --mkfs`. UEFI, because it is what XenServer 8 and XCP-ng 8.3 install by default
and it needs no boot code patched into the disk: the firmware (OVMF) starts GRUB from the ESP's
removable-media path, where GRUB made with grub-mkimage from the root's own GRUB modules sits.
(BIOS boot, with its BIOS-boot partition, stays covered by dom0-partition's tests.) The root
partition holds a Debian 12 dom0 made with mmdebstrap (systemd, udev, the kernel, Xen 4.17 and
its tools, GRUB's EFI modules; cached, as it does not depend on the code under test) with
Dom0Kit's .deb installed, its first-boot service enabled and /etc/dom0kit/host.yaml written.
The ESP holds a XenServer-style grub.cfg: the product entry and its (Serial) twin, which
host-prepare edits through xen-cmdline's engine.

The guest's own job is the scenario script, run by e2e-verdict.service at the end of every boot;
it prints verdicts on the console (Xen's serial line) and ends the run with E2E-DONE.
"""

import json
import shutil
import subprocess
from pathlib import Path

import debian_roots
from harness import run

ROOT_PACKAGES = ["systemd", "systemd-sysv", "udev", "dbus", "linux-image-amd64", "initramfs-tools",
                 "xen-hypervisor-4.17-amd64", "xen-utils-4.17", "xen-utils-common", "grub-efi-amd64-bin", "kmod", "procps",
                 "pciutils", "iproute2", "fdisk", "libpci3", "libarchive13", "libssl3", "libyaml-0-2"]
# Each of the three boots under TCG takes minutes; these make it ~40% shorter without touching
# what the scenario proves. The initramfs holds only what mounts the root (Debian's default takes
# every module: 36 MB that GRUB reads through the firmware and the kernel unpacks, and a udev
# coldplug that loads them), built once into the cached root.
SMALL_INITRAMFS = ('echo MODULES=list > "$1/etc/initramfs-tools/conf.d/dom0kit-e2e" && '
                   'printf "virtio_pci\\nvirtio_blk\\next4\\n" >> "$1/etc/initramfs-tools/modules" && '
                   'chroot "$1" update-initramfs -u -k all')
# Units a test dom0 has no use for: debug and fuse filesystems, modules nothing here loads, binfmt,
# daily timers, the domU autostarter (there are no domUs), seeds and caches of a long-lived host.
# (systemd-machine-id-commit stays: without it each boot has a new machine ID, so a new journal
# directory, and the second boot cannot read the first one's journal.)
UNNEEDED_UNITS = ["sys-kernel-debug.mount", "sys-kernel-tracing.mount", "sys-kernel-config.mount", "dev-mqueue.mount",
                  "sys-fs-fuse-connections.mount", "proc-sys-fs-binfmt_misc.automount", "systemd-binfmt.service",
                  "modprobe@fuse.service", "modprobe@drm.service", "modprobe@configfs.service", "modprobe@efi_pstore.service",
                  "modprobe@dm_mod.service", "modprobe@loop.service", "apt-daily.timer", "apt-daily-upgrade.timer",
                  "dpkg-db-backup.timer", "fstrim.timer", "e2scrub_all.timer", "e2scrub_reap.service", "xendomains.service",
                  "systemd-random-seed.service", "ldconfig.service",
                  "systemd-journal-catalog-update.service"]
# The control-plane daemons control.slice takes in, as small stand-ins for XAPI's.
STAND_INS = ["xapi", "xcp-networkd", "xcp-rrdd"]
SPEC = """\
# The host the first boot makes: dom0's memory, its one vCPU pinned and its weight doubled (set
# at every boot by host-prepare-dom0-sched.service), the second NIC hidden for passthrough (bound
# to pciback by pciback-agent through the udev rule), the control plane in control.slice.
boot:
  style: xenserver
  dom0_mem: {min: 1200M, max: 1200M}
  hide:
    - bdf: 0000:00:06.0
      note: the second NIC, for a guest
dom0:
  vcpus: 1
  pin: true
  weight: 512
control_slice:
  weight: 500
  members: [xapi, xcp-networkd, xcp-rrdd]
devices:
  rules: [0000:00:06.0 pciback]
agent:
  enable: true
"""
HIDDEN_NIC = "0000:00:06.0"
XEN_ARGUMENTS = "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M iommu=1 loglvl=warning guest_loglvl=warning"
# fsck.mode=skip: the root has no e2fsprogs, and the image is new each run.
DOM0_ARGUMENTS = "root=LABEL=root-e2e ro console=hvc0 quiet fsck.mode=skip"


def partitions(image):
    table = json.loads(run(["sfdisk", "--json", str(image)]).stdout)["partitiontable"]
    sector = table.get("sectorsize", 512)
    return {int(p["node"].rsplit("img", 1)[1]): (p["start"] * sector, p["size"] * sector) for p in table["partitions"]}


def grub_config(kernel, initrd):
    entry = """menuentry '{title}' {{
\tsearch --no-floppy --label --set root root-e2e
\tmultiboot2 /boot/xen.gz {xen}
\tmodule2 /boot/{kernel} {dom0}
\tmodule2 /boot/{initrd}
}}
"""
    return ("serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\n"
            "set default=0\nset timeout=1\n\n"
            + entry.format(title="XCP-ng", xen=XEN_ARGUMENTS, kernel=kernel, dom0=DOM0_ARGUMENTS, initrd=initrd)
            + entry.format(title="XCP-ng (Serial)", xen=XEN_ARGUMENTS, kernel=kernel, dom0=DOM0_ARGUMENTS.replace("hvc0", "hvc0 earlyprintk=xen"), initrd=initrd))


def cached_root(cache, log):
    """The dom0's root as a tarball, built once (it does not depend on the code under test)."""
    return debian_roots.cached_root("bookworm", ROOT_PACKAGES, cache, "firstboot-root", log, [SMALL_INITRAMFS])


def build_disk(binary, deb, scenario_script, work, cache, log):
    """The disk image, prepared by Dom0Kit: returns its path."""
    image = work / "first-boot.img"
    with open(image, "wb") as disk:
        disk.truncate(64 << 30)
    run([str(binary), "dom0-partition", "apply", "--disk", str(image), "--layout", "xs8", "--firmware", "uefi", "--mkfs",
         "--label-suffix", "e2e", "--yes"])
    parts = partitions(image)
    tarball = cached_root(cache, log)
    mnt = work / "mnt"
    mnt.mkdir()
    mounted = []
    try:
        root_offset, root_size = parts[1]
        run(["mount", "-o", f"loop,offset={root_offset},sizelimit={root_size}", str(image), str(mnt)])
        mounted.append(mnt)
        run(["tar", "-C", str(mnt), "--numeric-owner", "-xpf", str(tarball)])
        (mnt / "boot/efi").mkdir(parents=True, exist_ok=True)
        # The ESP is written with mtools: no vfat driver is needed on this machine.
        esp = f"{image}@@{parts[4][0]}"

        boot = mnt / "boot"
        kernel = sorted(p.name for p in boot.glob("vmlinuz-*"))[-1]
        initrd = sorted(p.name for p in boot.glob("initrd.img-*"))[-1]
        shutil.copy(sorted(boot.glob("xen-4.17*.gz"))[-1], boot / "xen.gz")
        (mnt / "etc/fstab").write_text("LABEL=root-e2e / ext4 errors=remount-ro 0 1\n/dev/vda4 /boot/efi vfat umask=0077 0 2\n")
        (mnt / "etc/hostname").write_text("dom0kit-first-boot\n")
        (mnt / "var/log/journal").mkdir(parents=True, exist_ok=True)  # persistent: boot 2 reads boot 1's entries
        # Under TCG on a loaded machine (script/test runs the builds beside it) udev's coldplug can
        # take longer than systemd's 90 s wait for a device: the boot then stops in emergency mode.
        (mnt / "etc/systemd/system.conf.d").mkdir(parents=True, exist_ok=True)
        (mnt / "etc/systemd/system.conf.d/e2e-slow-machine.conf").write_text(
            "[Manager]\nDefaultTimeoutStartSec=15min\nDefaultDeviceTimeoutSec=15min\n")

        # GRUB on the ESP, made from the root's own EFI modules, at the path firmware boots by itself.
        modules = mnt / "usr/lib/grub/x86_64-efi"
        grub = work / "BOOTX64.EFI"
        run(["grub-mkimage", "-d", str(modules), "-O", "x86_64-efi", "-o", str(grub),
             "-p", "/EFI/xenserver", "part_gpt", "fat", "ext2", "normal", "configfile", "multiboot2", "search",
             "search_label", "serial", "terminal", "echo", "test", "ls", "cat", "gzio", "efi_gop", "all_video", "boot"])
        config = work / "grub.cfg"
        config.write_text(grub_config(kernel, initrd))
        run(["mmd", "-i", esp, "::/EFI", "::/EFI/BOOT", "::/EFI/xenserver"])
        run(["mcopy", "-i", esp, str(grub), "::/EFI/BOOT/BOOTX64.EFI"])
        run(["mcopy", "-i", esp, str(config), "::/EFI/xenserver/grub.cfg"])

        run(["dpkg", "--root", str(mnt), "--install", str(deb)])
        (mnt / "etc/dom0kit").mkdir(parents=True, exist_ok=True)
        (mnt / "etc/dom0kit/host.yaml").write_text(SPEC)
        units = mnt / "etc/systemd/system"
        for daemon in STAND_INS:
            (units / f"{daemon}.service").write_text(
                f"[Unit]\nDescription=stand-in for {daemon}\n[Service]\nExecStart=/bin/sleep infinity\n"
                "[Install]\nWantedBy=multi-user.target\n")
        (mnt / "usr/local/lib/e2e").mkdir(parents=True, exist_ok=True)
        shutil.copy(scenario_script, mnt / "usr/local/lib/e2e/first-boot.sh")
        (units / "e2e-verdict.service").write_text(
            "[Unit]\nDescription=the first-boot scenario's checks\n"
            "After=multi-user.target host-prepare-firstboot.service pciback-agent.service\n"
            "[Service]\nType=oneshot\nExecStart=/bin/sh /usr/local/lib/e2e/first-boot.sh\n"
            "StandardOutput=tty\nStandardError=tty\nTTYPath=/dev/console\n"
            "[Install]\nWantedBy=multi-user.target\n")
        run(["systemctl", "--root", str(mnt), "enable", "host-prepare-firstboot.service", "e2e-verdict.service"]
            + [f"{daemon}.service" for daemon in STAND_INS])
        # No getty on the console: the verdicts and Xen's messages are all it carries.
        run(["systemctl", "--root", str(mnt), "mask", "serial-getty@hvc0.service", "getty@tty1.service"] + UNNEEDED_UNITS)
    finally:
        for point in reversed(mounted):
            subprocess.run(["umount", str(point)], check=False)
    return image


def qemu_command(image, vars_file):
    # q35 with QEMU's VT-d: Xen enables I/O virtualisation and interrupt remapping, so the host is
    # healthy as host-prepare check judges it.
    return ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "Haswell-noTSX", "-smp", "1", "-m", "2048", "-nodefaults",
            "-no-user-config", "-display", "none", "-vga", "none", "-serial", "stdio",
            "-machine", "q35,kernel-irqchip=split", "-device", "intel-iommu,intremap=on",
            "-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
            "-drive", f"if=pflash,format=raw,file={vars_file}",
            "-drive", f"file={image},if=virtio,format=raw,cache=unsafe",
            "-device", "e1000,addr=0x5", "-device", f"e1000,addr={HIDDEN_NIC.rsplit(':', 1)[1].split('.')[0]}"]


def prepare(binary, deb, scenario_script, work, cache, log):
    """The disk and the QEMU command that boots it (reboots included; the guest powers off at the end)."""
    image = build_disk(binary, deb, scenario_script, work, cache, log)
    vars_file = work / "OVMF_VARS.fd"
    shutil.copy("/usr/share/OVMF/OVMF_VARS_4M.fd", vars_file)
    return qemu_command(image, vars_file)
