import CUdev
import PCIDevices
import Testing

/// The system-library targets link against the real libraries.
@Suite("libpci and libudev")
struct SystemLibraryTests {
    @Test func libpciNamesKnownVendorsAndDevices() {
        let names = PCINames()
        #expect(names.vendor(0x10de) == "NVIDIA Corporation")
        #expect(names.device(vendor: 0x8086, device: 0x10d3) == "82574L Gigabit Network Connection")
    }

    @Test func unknownIdsHaveNoName() {
        let names = PCINames()
        #expect(names.vendor(0xf00d) == nil)
        #expect(names.device(vendor: 0x10de, device: 0xf00d) == nil)
    }

    @Test func libudevOpensAContext() {
        let context = udev_new()
        #expect(context != nil)
        udev_unref(context)
    }
}
