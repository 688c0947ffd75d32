import CPci
import Synchronization

/// Vendor and device names from the pci.ids database through libpci, for what people read.
///
/// Names are lookup only: they never decide anything, so a missing database gives nil.
public final class PCINames: @unchecked Sendable {
    // libpci's access handle is not thread-safe; every use below holds the lock.
    private let access: UnsafeMutablePointer<pci_access>?
    private let lock = Mutex(())

    /// Opens libpci for name lookups only (no bus scan).
    public init() {
        access = dom0kit_pci_alloc_for_names()
    }

    deinit {
        if let access { pci_cleanup(access) }
    }

    /// The vendor's name ("NVIDIA Corporation"), or nil when unknown.
    public func vendor(_ vendor: UInt16) -> String? {
        lookup { dom0kit_pci_vendor_name($0, $1, $2, Int32(vendor)) }
    }

    /// The device's name ("GP106 [GeForce GTX 1060 3GB]"), or nil when unknown.
    public func device(vendor: UInt16, device: UInt16) -> String? {
        lookup { dom0kit_pci_device_name($0, $1, $2, Int32(vendor), Int32(device)) }
    }

    private func lookup(_ call: (UnsafeMutablePointer<pci_access>, UnsafeMutablePointer<CChar>, Int32) -> UnsafeMutablePointer<CChar>?) -> String? {
        guard let access else { return nil }
        return lock.withLock { _ in
            var buffer = [CChar](repeating: 0, count: 256)
            let name = buffer.withUnsafeMutableBufferPointer { pointer -> String? in
                guard let baseAddress = pointer.baseAddress,
                      let result = call(access, baseAddress, Int32(pointer.count)) else { return nil }
                return String(cString: result)
            }
            // libpci answers unknown ids with a placeholder rather than nil.
            guard let name, !name.isEmpty, !name.hasPrefix("Unknown"), !name.hasPrefix("<") else { return nil }
            return name
        }
    }
}
