import Dom0Core
import FakeHost
import PCIDevices
import SystemPackage
import Testing
import TestSupport

/// The tree FakeHost lays out has the shapes sysfs and procfs have on a real host.
@Suite("FakeHost lays out a host as the kernel presents it")
struct FakeHostLayoutTests {
    let test: TestHost
    var root: HostRoot { test.root }
    let gpu = BDF("0000:01:00.0")!

    init() throws {
        test = try TestHost()
        try test.host.add(FakeDriver("pcieport", ids: [PCIID(vendor: 0x8086, device: 0x1901)]))
        try test.host.add(FakeDriver("nouveau", ids: [PCIID(vendor: 0x10de, device: 0x1c81)]))
        try test.host.add(.pciback)
        try test.host.add(FakePCIDevice(BDF("0000:00:01.0")!, vendor: 0x8086, device: 0x1901, classCode: 0x060400,
                                        driver: "pcieport", iommuGroup: 1))
        try test.host.add(FakePCIDevice(gpu, vendor: 0x10de, device: 0x1c81, classCode: 0x030000, driver: "nouveau",
                                        iommuGroup: 2, parent: BDF("0000:00:01.0"), subsystemVendor: 0x1458, subsystemDevice: 0x3fbc))
    }

    @Test func busDevicesLinkIntoTheDeviceTree() throws {
        let link = try FileSystem.readLink(root.resolve("/sys/bus/pci/devices/0000:01:00.0", followFinalLink: false))
        #expect(link == "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0")
        #expect(try root.resolve("/sys/bus/pci/devices/0000:01:00.0") == root.path.appending("sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"))
    }

    @Test func idsAndClassReadAsSysfsPrintsThem() throws {
        let device = FilePath("/sys/bus/pci/devices/0000:01:00.0")
        #expect(try root.readText(device.appending("vendor")) == "0x10de\n")
        #expect(try root.readText(device.appending("device")) == "0x1c81\n")
        #expect(try root.readText(device.appending("subsystem_vendor")) == "0x1458\n")
        #expect(try root.readText(device.appending("subsystem_device")) == "0x3fbc\n")
        #expect(try root.readText(device.appending("class")) == "0x030000\n")
        #expect(try root.readText(device.appending("modalias")) == "pci:v000010DEd00001C81sv00001458sd00003FBCbc03sc00i00\n")
    }

    @Test func driverOverrideReadsNullWhenUnset() throws {
        #expect(try root.readText("/sys/bus/pci/devices/0000:01:00.0/driver_override") == "(null)\n")
    }

    @Test func theDriverLinkAndTheDriversDeviceLinkPointAtEachOther() throws {
        #expect(try root.resolve("/sys/bus/pci/devices/0000:01:00.0/driver") == root.path.appending("sys/bus/pci/drivers/nouveau"))
        #expect(try root.resolve("/sys/bus/pci/drivers/nouveau/0000:01:00.0") == root.resolve("/sys/bus/pci/devices/0000:01:00.0"))
    }

    @Test func iommuGroupsLinkBothWays() throws {
        #expect(try root.resolve("/sys/bus/pci/devices/0000:01:00.0/iommu_group") == root.path.appending("sys/kernel/iommu_groups/2"))
        #expect(try FileSystem.entries(root.resolve("/sys/kernel/iommu_groups/2/devices")) == ["0000:01:00.0"])
        #expect(try root.readText("/sys/kernel/iommu_groups/2/type") == "DMA\n")
    }

    @Test func driversHaveTheirAttributesAndPcibackItsSlots() throws {
        for attribute in ["bind", "unbind", "new_id", "remove_id"] {
            #expect(try root.exists(FilePath("/sys/bus/pci/drivers/nouveau/\(attribute)")))
        }
        for attribute in ["new_slot", "remove_slot", "slots", "permissive", "quirks"] {
            #expect(try root.exists(FilePath("/sys/bus/pci/drivers/pciback/\(attribute)")))
        }
        #expect(try root.readText("/sys/bus/pci/drivers/pciback/slots") == "")
        #expect(try root.exists("/sys/bus/pci/drivers_probe"))
    }

    @Test func xenDom0HasHypervisorNodesAndCapabilities() throws {
        try test.host.makeXenDom0()
        #expect(try root.readText("/sys/hypervisor/type") == "xen\n")
        let features = try #require(UInt32(try root.readText("/sys/hypervisor/properties/features")?.trimmingTrailingWhitespace ?? "", radix: 16))
        #expect(features & (1 << 11) != 0, "XENFEAT_dom0 is bit 11")
        #expect(try root.readText("/proc/xen/capabilities") == "control_d\n")
    }

    @Test func sriovCapableDevicesHaveTheirAttributes() throws {
        try test.host.add(FakeDriver("ixgbe", ids: [PCIID(vendor: 0x8086, device: 0x10fb)]))
        try test.host.add(FakePCIDevice(BDF("0000:05:00.0")!, vendor: 0x8086, device: 0x10fb, classCode: 0x020000,
                                        driver: "ixgbe", totalVFs: 63, vfDevice: 0x10ed, vfOffset: 128, vfStride: 2))
        let device = FilePath("/sys/bus/pci/devices/0000:05:00.0")
        #expect(try root.readText(device.appending("sriov_totalvfs")) == "63\n")
        #expect(try root.readText(device.appending("sriov_numvfs")) == "0\n")
        #expect(try root.readText(device.appending("sriov_vf_device")) == "10ed\n")
    }

    @Test func filesAndCommandLinesAreWrittenWhereTheHostHasThem() throws {
        try test.host.setKernelCommandLine("root=/dev/sda1 xen-pciback.hide=(0000:01:00.0)")
        try test.host.write("/etc/default/grub", "GRUB_TIMEOUT=5\n")
        #expect(try root.readText("/proc/cmdline") == "root=/dev/sda1 xen-pciback.hide=(0000:01:00.0)\n")
        #expect(try root.readText("/etc/default/grub") == "GRUB_TIMEOUT=5\n")
    }

    @Test func aDeviceNamingAMissingDriverIsRefused() throws {
        let error = try #require(throws: Dom0Error.self) {
            try test.host.add(FakePCIDevice(BDF("0000:09:00.0")!, vendor: 1, device: 2, classCode: 0, driver: "absent"))
        }
        #expect(error.what.contains("absent"))
    }

    @Test func sparseDiskImagesTakeNoSpace() throws {
        try test.host.sparseFile("/dev/sda", size: 64 << 30)
        let info = try #require(try FileSystem.status(root.resolve("/dev/sda")))
        #expect(info.st_size == 64 << 30)
        #expect(info.st_blocks < 64)
    }
}
