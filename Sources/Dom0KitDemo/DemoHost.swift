import ControlSlice
import FakeHost
import Dom0Core
import PCIDevices
import SystemPackage

/// The built-in demo host: a small XCP-ng-like dom0 with a NIC and a GPU+audio pair to hide,
/// XenServer-style and Debian-style boot configuration, control daemons' units and a sparse
/// 64 GiB system disk. `host-prepare demo` builds it; tests use it as a realistic host.
public struct DemoHost: Sendable {
    /// A PCI function of the demo host and what it is there for.
    public struct Device: Sendable {
        /// The device as laid out in sysfs.
        public var spec: FakePCIDevice
        /// Its part in the story ("dom0's disk controller", "to hide: passthrough GPU").
        public var role: String
        /// Whether the demo spec hides it from dom0.
        public var hide: Bool
    }

    /// The tree.
    public let host: FakeHost
    /// Its PCI functions, in address order.
    public let devices: [Device]
    /// The dom0 system disk (a sparse image standing in for the block device).
    public static let disk: FilePath = "/dev/sda"
    /// Its size.
    public static let diskSize: Int64 = 64 << 30
    /// The XenServer-style boot configuration (UEFI location).
    public static let grubConfig: FilePath = "/boot/efi/EFI/xenserver/grub.cfg"
    /// The dom0 command line the demo host runs with (its /proc/cmdline and its grub.cfg's product entry).
    public static var dom0CommandLine: String { DemoFiles.dom0CommandLine }

    /// The control-plane units the host has: control-slice's default members, less those an
    /// XCP-ng 8.2 host does not run.
    public static let controlUnits = SliceConfig.defaultMembers.filter {
        !["v6d.service", "oxenstored.service", "cxenstored.service", "perfmon.service"].contains($0)
    }

    /// Builds the demo host in `directory` (created if missing).
    public static func build(at directory: FilePath) throws(Dom0Error) -> DemoHost {
        let host = try FakeHost(at: directory)
        try host.makeXenDom0()
        try host.makeUEFI()
        let drivers = [
            FakeDriver("pcieport", ids: [PCIID(vendor: 0x8086, device: 0x1901), PCIID(vendor: 0x8086, device: 0xa110)]),
            FakeDriver("ahci", ids: [PCIID(vendor: 0x8086, device: 0xa102)]),
            FakeDriver("xhci_hcd", ids: [PCIID(vendor: 0x8086, device: 0xa12f)]),
            FakeDriver("e1000e", ids: [PCIID(vendor: 0x8086, device: 0x15b8), PCIID(vendor: 0x8086, device: 0x10d3)]),
            FakeDriver("nouveau", ids: [PCIID(vendor: 0x10de, device: 0x1c81)]),
            FakeDriver("snd_hda_intel", ids: [PCIID(vendor: 0x10de, device: 0x0fb9), PCIID(vendor: 0x8086, device: 0xa170)]),
            .pciback,
        ]
        for driver in drivers { try host.add(driver) }
        let devices = demoDevices()
        for device in devices { try host.add(device.spec) }

        try host.setKernelCommandLine(DemoFiles.dom0CommandLine)
        try host.write(grubConfig, DemoFiles.xcpngGrubConfig)
        try host.write("/etc/default/grub", DemoFiles.defaultGrub)
        try host.write("/etc/os-release", DemoFiles.osRelease)
        for unit in controlUnits {
            try host.write(FilePath("/usr/lib/systemd/system/\(unit)"), DemoFiles.unit(String(unit.dropLast(".service".count))))
        }
        // As an XCP-ng 8.3 dom0 shows them: the firmware's DMAR table, which Xen keeps and dom0
        // sees reversed; tun loaded; cgroup v1 as CentOS 7's systemd mounts it.
        try host.write("/sys/firmware/acpi/tables/RMAD", "RMAD")
        try host.write("/dev/net/tun", "")
        try host.write("/proc/self/mountinfo", DemoFiles.cgroupMounts)
        try host.sparseFile(disk, size: diskSize)
        return DemoHost(host: host, devices: devices)
    }

    private static func demoDevices() -> [Device] {
        func bdf(_ text: String) -> BDF {
            guard let bdf = BDF(text) else { preconditionFailure("demo address \(text) is malformed") }
            return bdf
        }
        let rootPort = bdf("0000:00:01.0"), nicPort = bdf("0000:00:1c.0")
        return [
            Device(spec: FakePCIDevice(bdf("0000:00:00.0"), vendor: 0x8086, device: 0x191f, classCode: 0x060000),
                   role: "host bridge", hide: false),
            Device(spec: FakePCIDevice(rootPort, vendor: 0x8086, device: 0x1901, classCode: 0x060400, driver: "pcieport"),
                   role: "PCIe root port of the GPU", hide: false),
            Device(spec: FakePCIDevice(bdf("0000:00:14.0"), vendor: 0x8086, device: 0xa12f, classCode: 0x0c0330, driver: "xhci_hcd"),
                   role: "USB controller (keyboard, dom0 console)", hide: false),
            Device(spec: FakePCIDevice(bdf("0000:00:17.0"), vendor: 0x8086, device: 0xa102, classCode: 0x010601, driver: "ahci"),
                   role: "SATA controller of dom0's disk", hide: false),
            Device(spec: FakePCIDevice(nicPort, vendor: 0x8086, device: 0xa110, classCode: 0x060400, driver: "pcieport"),
                   role: "PCIe root port of the guest NIC", hide: false),
            Device(spec: FakePCIDevice(bdf("0000:00:1f.6"), vendor: 0x8086, device: 0x15b8, classCode: 0x020000, driver: "e1000e"),
                   role: "management NIC (default route)", hide: false),
            Device(spec: FakePCIDevice(bdf("0000:01:00.0"), vendor: 0x10de, device: 0x1c81, classCode: 0x030000, driver: "nouveau",
                                       parent: rootPort),
                   role: "GPU for a guest", hide: true),
            Device(spec: FakePCIDevice(bdf("0000:01:00.1"), vendor: 0x10de, device: 0x0fb9, classCode: 0x040300,
                                       driver: "snd_hda_intel", parent: rootPort),
                   role: "the GPU's HDMI audio, which goes with it", hide: true),
            Device(spec: FakePCIDevice(bdf("0000:04:00.0"), vendor: 0x8086, device: 0x10d3, classCode: 0x020000, driver: "e1000e",
                                       parent: nicPort),
                   role: "NIC for a guest", hide: true),
        ]
    }
}

/// The demo host's files, shaped like those of a real XCP-ng 8.3 host.
enum DemoFiles {
    static let dom0CommandLine =
        "root=LABEL=root-dmokit ro nolvm hpet=disable console=hvc0 console=tty0 quiet vga=785 splash plymouth.ignore-serial-consoles"

    static let cgroupMounts = """
        25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
        29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
        30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
        31 25 0:28 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,blkio

        """

    static let xcpngGrubConfig = """
        serial --unit=0 --speed=115200
        terminal_input serial console
        terminal_output serial console
        set default=0
        set timeout=5
        if [ -s $prefix/grubenv ]; then
        \tload_env
        fi
        if [ -n "$override_entry" ]; then
        \tset default=$override_entry
        \tset override_entry=
        \tsave_env override_entry
        fi
        menuentry 'XCP-ng' {
        \tsearch --label --set root root-dmokit
        \tmultiboot2 /boot/xen.gz dom0_mem=2048M,max:2048M watchdog ucode=scan dom0_max_vcpus=1-8 crashkernel=256M,below=4G console=vga vga=mode-0x0311
        \tmodule2 /boot/vmlinuz-4.19-xen \(dom0CommandLine)
        \tmodule2 /boot/initrd-4.19-xen.img
        }
        menuentry 'XCP-ng (Serial)' {
        \tsearch --label --set root root-dmokit
        \tmultiboot2 /boot/xen.gz com1=115200,8n1 console=com1,vga dom0_mem=2048M,max:2048M watchdog ucode=scan dom0_max_vcpus=1-8 crashkernel=256M,below=4G
        \tmodule2 /boot/vmlinuz-4.19-xen root=LABEL=root-dmokit ro nolvm hpet=disable console=tty0 console=hvc0
        \tmodule2 /boot/initrd-4.19-xen.img
        }
        menuentry 'XCP-ng in Safe Mode' {
        \tsearch --label --set root root-dmokit
        \tmultiboot2 /boot/xen.gz nosmp noreboot noirqbalance no-mce no-bootscrub no-numa no-hap no-mmcfg max_cstate=0 nmi=ignore allow_unsafe dom0_mem=2048M,max:2048M com1=115200,8n1 console=com1,vga
        \tmodule2 /boot/vmlinuz-4.19-xen earlyprintk=xen root=LABEL=root-dmokit ro nolvm hpet=disable console=tty0 console=hvc0
        \tmodule2 /boot/initrd-4.19-xen.img
        }
        menuentry 'XCP-ng (Xen 4.17.5 / Linux 4.19.0+1)' {
        \tsearch --label --set root root-dmokit
        \tmultiboot2 /boot/xen-fallback.gz dom0_mem=2048M,max:2048M watchdog ucode=scan dom0_max_vcpus=1-8 crashkernel=256M,below=4G
        \tmodule2 /boot/vmlinuz-fallback root=LABEL=root-dmokit ro nolvm hpet=disable console=hvc0 console=tty0
        \tmodule2 /boot/initrd-fallback.img
        }
        menuentry 'XCP-ng (Serial, Xen 4.17.5 / Linux 4.19.0+1)' {
        \tsearch --label --set root root-dmokit
        \tmultiboot2 /boot/xen-fallback.gz com1=115200,8n1 console=com1,vga dom0_mem=2048M,max:2048M watchdog ucode=scan dom0_max_vcpus=1-8 crashkernel=256M,below=4G
        \tmodule2 /boot/vmlinuz-fallback root=LABEL=root-dmokit ro nolvm hpet=disable console=tty0 console=hvc0
        \tmodule2 /boot/initrd-fallback.img
        }

        """

    static let defaultGrub = """
        # If you change this file, run 'update-grub' afterwards to update
        # /boot/grub/grub.cfg.
        # For full documentation of the options in this file, see:
        #   info -f grub -n 'Simple configuration'

        GRUB_DEFAULT=0
        GRUB_TIMEOUT=5
        GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
        GRUB_CMDLINE_LINUX_DEFAULT="quiet"
        GRUB_CMDLINE_LINUX=""
        GRUB_CMDLINE_XEN_DEFAULT='dom0_mem=2048M,max:2048M'

        """

    static let osRelease = """
        NAME="XCP-ng"
        VERSION="8.3.0"
        ID="xenenterprise"
        ID_LIKE="centos rhel fedora"
        VERSION_ID="8.3.0"
        PRETTY_NAME="XCP-ng 8.3.0"

        """

    static func unit(_ daemon: String) -> String {
        """
        [Unit]
        Description=\(daemon) (Dom0Kit demo unit)
        After=network.target

        [Service]
        Type=simple
        ExecStart=/usr/sbin/\(daemon)

        [Install]
        WantedBy=multi-user.target

        """
    }
}
