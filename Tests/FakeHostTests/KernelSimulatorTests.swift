import Dom0Core
import FakeHost
import PCIDevices
import SystemPackage
import Testing
import TestSupport

/// The simulator against the sysfs-bus-pci ABI (Documentation/ABI/testing/sysfs-bus-pci) and
/// xen-pciback's attributes, one behaviour per test.
@Suite("The kernel-reaction simulator follows sysfs-bus-pci")
struct KernelSimulatorTests {
    let test: TestHost
    let kernel: KernelSimulator
    var root: HostRoot { test.root }
    let nic = BDF("0000:04:00.0")!, gpu = BDF("0000:01:00.0")!, audio = BDF("0000:01:00.1")!

    init() throws {
        test = try TestHost()
        try test.host.add(FakeDriver("e1000e", ids: [PCIID(vendor: 0x8086, device: 0x10d3)]))
        try test.host.add(FakeDriver("snd_hda_intel", ids: [PCIID(vendor: 0x10de, device: 0x0fb9)]))
        try test.host.add(FakeDriver("ixgbe", ids: [PCIID(vendor: 0x8086, device: 0x10fb)]))
        try test.host.add(FakeDriver("ixgbevf", ids: [PCIID(vendor: 0x8086, device: 0x10ed)]))
        try test.host.add(.pciback)
        try test.host.add(.vfioPCI)
        try test.host.add(FakePCIDevice(nic, vendor: 0x8086, device: 0x10d3, classCode: 0x020000, driver: "e1000e", iommuGroup: 4))
        try test.host.add(FakePCIDevice(gpu, vendor: 0x10de, device: 0x1c81, classCode: 0x030000, iommuGroup: 2))
        try test.host.add(FakePCIDevice(audio, vendor: 0x10de, device: 0x0fb9, classCode: 0x040300, driver: "snd_hda_intel",
                                        iommuGroup: 2))
        kernel = KernelSimulator(test.host)
    }

    private func write(_ value: String, _ path: String) throws(Dom0Error) {
        try kernel.write(value, to: FilePath(path), in: root)
    }

    private func driver(_ bdf: BDF) throws -> String? {
        let link = try root.resolve(FilePath("/sys/bus/pci/devices/\(bdf)/driver"), followFinalLink: false)
        guard try FileSystem.status(link) != nil else { return nil }
        return try FileSystem.readLink(link).lastComponent?.string
    }

    /// The errno a write fails with, or nil when it succeeds.
    private func errno(_ body: () throws -> Void) -> Errno? {
        do {
            try body()
            return nil
        } catch let error as Dom0Error {
            return error.errno
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func unbindReleasesTheDeviceBeforeTheWriteReturns() throws {
        try write("0000:04:00.0", "/sys/bus/pci/drivers/e1000e/unbind")
        #expect(try driver(nic) == nil)
        #expect(try !root.exists("/sys/bus/pci/drivers/e1000e/0000:04:00.0"))
    }

    @Test func unbindFromAnotherDriverIsENODEV() {
        #expect(errno { try write("0000:04:00.0", "/sys/bus/pci/drivers/snd_hda_intel/unbind") } == .operationNotSupportedByDevice)
    }

    @Test func bindTakesAMatchingUnboundDevice() throws {
        try write("0000:04:00.0", "/sys/bus/pci/drivers/e1000e/unbind")
        try write("0000:04:00.0", "/sys/bus/pci/drivers/e1000e/bind")
        #expect(try driver(nic) == "e1000e")
    }

    @Test func bindToABoundDeviceIsEBUSY() {
        #expect(errno { try write("0000:04:00.0", "/sys/bus/pci/drivers/e1000e/bind") } == .resourceBusy)
    }

    @Test func bindOfAMissingOrUnmatchedDeviceIsENODEV() {
        #expect(errno { try write("0000:0f:00.0", "/sys/bus/pci/drivers/e1000e/bind") } == .operationNotSupportedByDevice)
        #expect(errno { try write("0000:01:00.0", "/sys/bus/pci/drivers/e1000e/bind") } == .operationNotSupportedByDevice)
    }

    @Test func driverOverrideStoresANameAndAnEmptyWriteClearsIt() throws {
        try write("vfio-pci", "/sys/bus/pci/devices/0000:01:00.0/driver_override")
        #expect(try root.readText("/sys/bus/pci/devices/0000:01:00.0/driver_override") == "vfio-pci\n")
        try write("\n", "/sys/bus/pci/devices/0000:01:00.0/driver_override")
        #expect(try root.readText("/sys/bus/pci/devices/0000:01:00.0/driver_override") == "(null)\n")
    }

    @Test func driversProbeHonoursDriverOverrideWhateverTheIdTables() throws {
        try write("vfio-pci", "/sys/bus/pci/devices/0000:01:00.1/driver_override")
        try write("0000:01:00.1", "/sys/bus/pci/drivers/snd_hda_intel/unbind")
        try write("0000:01:00.1", "/sys/bus/pci/drivers_probe")
        #expect(try driver(audio) == "vfio-pci")
    }

    @Test func driversProbeWithoutOverrideUsesTheIdTable() throws {
        try write("0000:01:00.1", "/sys/bus/pci/drivers/snd_hda_intel/unbind")
        try write("0000:01:00.1", "/sys/bus/pci/drivers_probe")
        #expect(try driver(audio) == "snd_hda_intel")
    }

    @Test func driversProbeSucceedsEvenWhenNothingBinds() throws {
        // The GPU matches no driver's table: the write succeeds, the device stays unbound.
        try write("0000:01:00.0", "/sys/bus/pci/drivers_probe")
        #expect(try driver(gpu) == nil)
    }

    @Test func driversProbeOfAMissingDeviceIsENODEV() {
        #expect(errno { try write("0000:0f:00.0", "/sys/bus/pci/drivers_probe") } == .operationNotSupportedByDevice)
    }

    @Test func anOverrideNamingAnotherDriverBlocksBind() throws {
        try write("pciback", "/sys/bus/pci/devices/0000:01:00.0/driver_override")
        #expect(errno { try write("0000:01:00.0", "/sys/bus/pci/drivers/vfio-pci/bind") } == .operationNotSupportedByDevice)
    }

    @Test func newIdBindsEveryMatchingUnboundDevice() throws {
        try write("10de 1c81", "/sys/bus/pci/drivers/vfio-pci/new_id")
        #expect(try driver(gpu) == "vfio-pci")
        #expect(try driver(audio) == "snd_hda_intel", "bound devices are not taken")
        #expect(errno { try write("10de 1c81", "/sys/bus/pci/drivers/vfio-pci/new_id") } == .fileExists)
        try write("10de 1c81", "/sys/bus/pci/drivers/vfio-pci/remove_id")
        #expect(errno { try write("10de 1c81", "/sys/bus/pci/drivers/vfio-pci/remove_id") } == .operationNotSupportedByDevice)
        #expect(errno { try write("nonsense", "/sys/bus/pci/drivers/vfio-pci/new_id") } == .invalidArgument)
    }

    @Test func pcibackTakesOnlySeizedSlotsAndNewSlotIsNotIdempotent() throws {
        #expect(errno { try write("0000:01:00.0", "/sys/bus/pci/drivers/pciback/bind") } == .operationNotSupportedByDevice)
        try write("0000:01:00.0", "/sys/bus/pci/drivers/pciback/new_slot")
        try write("0000:01:00.0", "/sys/bus/pci/drivers/pciback/new_slot")
        #expect(try root.readText("/sys/bus/pci/drivers/pciback/slots") == "0000:01:00.0\n0000:01:00.0\n")
        try write("0000:01:00.0", "/sys/bus/pci/drivers/pciback/bind")
        #expect(try driver(gpu) == "pciback")
        try write("0000:01:00.0", "/sys/bus/pci/drivers/pciback/remove_slot")
        #expect(try root.readText("/sys/bus/pci/drivers/pciback/slots") == "")
        #expect(errno { try write("0000:01:00.0", "/sys/bus/pci/drivers/pciback/remove_slot") } == .noSuchFileOrDirectory)
    }

    @Test func pcibackBindsThroughDriverOverride() throws {
        try write("pciback", "/sys/bus/pci/devices/0000:04:00.0/driver_override")
        try write("0000:04:00.0", "/sys/bus/pci/drivers/e1000e/unbind")
        try write("0000:04:00.0", "/sys/bus/pci/drivers_probe")
        #expect(try driver(nic) == "pciback")
    }

    @Test func readOnlyAttributesAreEACCESAndMissingOnesENOENT() throws {
        #expect(errno { try write("0x1234", "/sys/bus/pci/devices/0000:01:00.0/vendor") } == .permissionDenied)
        #expect(errno { try write("x", "/sys/bus/pci/devices/0000:01:00.0/no_such_attribute") } == .noSuchFileOrDirectory)
        #expect(errno { try write("x", "/sys/bus/pci/drivers/pciback/slots") } == .permissionDenied)
    }

    @Test func oldKernelsWithoutDriverOverrideSayENOENT() throws {
        let old = BDF("0000:06:00.0")!
        try test.host.add(FakePCIDevice(old, vendor: 0x8086, device: 0x10d3, classCode: 0x020000, hasDriverOverride: false))
        #expect(errno { try write("pciback", "/sys/bus/pci/devices/0000:06:00.0/driver_override") } == .noSuchFileOrDirectory)
    }

    @Test func injectedFailuresHappenThenClear() throws {
        try kernel.injectFailure(.resourceBusy, at: "/sys/bus/pci/drivers/e1000e/unbind", times: 2)
        #expect(errno { try write("0000:04:00.0", "/sys/bus/pci/drivers/e1000e/unbind") } == .resourceBusy)
        #expect(errno { try write("0000:04:00.0", "/sys/bus/pci/drivers/e1000e/unbind") } == .resourceBusy)
        try write("0000:04:00.0", "/sys/bus/pci/drivers/e1000e/unbind")
        #expect(try driver(nic) == nil)
    }

    @Test func sriovNumVFsCreatesProbedVFsWithTheirLinks() throws {
        let pf = BDF("0000:05:00.0")!
        try test.host.add(FakePCIDevice(pf, vendor: 0x8086, device: 0x10fb, classCode: 0x020000, driver: "ixgbe", iommuGroup: 9,
                                        totalVFs: 8, vfDevice: 0x10ed, vfOffset: 128, vfStride: 2))
        try write("4", "/sys/bus/pci/devices/0000:05:00.0/sriov_numvfs")
        #expect(try root.readText("/sys/bus/pci/devices/0000:05:00.0/sriov_numvfs") == "4\n")
        // Routing id 0x0500 + 128 + 2i: 0000:05:10.0, 10.2, 10.4, 10.6.
        let vfs = ["0000:05:10.0", "0000:05:10.2", "0000:05:10.4", "0000:05:10.6"].compactMap { BDF($0) }
        for (index, vf) in vfs.enumerated() {
            let vfPath = FilePath("/sys/bus/pci/devices/\(vf)")
            #expect(try root.readText(vfPath.appending("device")) == "0x10ed\n")
            #expect(try root.resolve(vfPath.appending("physfn")) == root.resolve("/sys/bus/pci/devices/0000:05:00.0"))
            #expect(try root.resolve(FilePath("/sys/bus/pci/devices/0000:05:00.0/virtfn\(index)")) == root.resolve(vfPath))
            #expect(try driver(vf) == "ixgbevf", "sriov_drivers_autoprobe is 1")
            #expect(try root.exists(vfPath.appending("iommu_group")))
        }
        #expect(errno { try write("2", "/sys/bus/pci/devices/0000:05:00.0/sriov_numvfs") } == .resourceBusy)
        #expect(errno { try write("9", "/sys/bus/pci/devices/0000:05:00.0/sriov_numvfs") } == .outOfRange)
        try write("0", "/sys/bus/pci/devices/0000:05:00.0/sriov_numvfs")
        for vf in vfs { #expect(try !root.exists(FilePath("/sys/bus/pci/devices/\(vf)"))) }
        #expect(try !root.exists("/sys/bus/pci/devices/0000:05:00.0/virtfn0"))
        #expect(try FileSystem.entries(root.resolve("/sys/bus/pci/drivers/ixgbevf")).allSatisfy { BDF($0) == nil })
    }

    @Test func aPhysicalFunctionWithoutADriverCannotMakeVFs() throws {
        try test.host.add(FakePCIDevice(BDF("0000:07:00.0")!, vendor: 0x8086, device: 0x10fb, classCode: 0x020000, totalVFs: 4,
                                        vfDevice: 0x10ed))
        #expect(errno { try write("2", "/sys/bus/pci/devices/0000:07:00.0/sriov_numvfs") } == .noSuchFileOrDirectory)
    }

    /// The sequence pciback-agent will run, as a plan applied through the simulator.
    @Test func theBindingSequenceAsAPlan() async throws {
        let plan = Plan([
            .attribute("/sys/bus/pci/devices/0000:04:00.0/driver_override", value: "pciback", part: .devices, summary: "override"),
            .attribute("/sys/bus/pci/devices/0000:04:00.0/driver/unbind", value: "0000:04:00.0", part: .devices, summary: "unbind"),
            .attribute("/sys/bus/pci/drivers_probe", value: "0000:04:00.0", part: .devices, summary: "probe"),
        ])
        let report = await plan.apply(ApplyContext(root: root, sysfs: kernel))
        #expect(report.succeeded, "\(report.text)")
        #expect(try driver(nic) == "pciback")
    }
}
