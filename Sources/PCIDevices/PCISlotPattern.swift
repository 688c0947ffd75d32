/// A PCI address that may leave the slot and function, or just the function, open, as
/// xen-pciback's `hide=` and `new_slot` accept: `0000:04:00.1`, `0000:04:00.*`, `0000:04:*.*`,
/// and the same without the domain (which is then 0000).
public struct PCISlotPattern: Sendable, Hashable, CustomStringConvertible {
    /// The PCI segment.
    public var domain: UInt16
    /// The bus.
    public var bus: UInt8
    /// The slot, or nil for any.
    public var slot: UInt8?
    /// The function, or nil for any.
    public var function: UInt8?

    /// Parses a pattern; nil when malformed (a wildcard slot needs a wildcard function, as in the kernel).
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        if let bdf = BDF(text) {
            self.init(domain: bdf.domain, bus: bdf.bus, slot: bdf.device, function: bdf.function)
            return
        }
        for (suffix, keepsSlot) in [(".*", true), (":*.*", false)] where text.hasSuffix(suffix) {
            let stem = String(text.dropLast(suffix.count))
            // Reuse the exact address parser on a stand-in for the open parts.
            let probe = keepsSlot ? stem + ".0" : stem + ":00.0"
            guard let bdf = BDF(probe) else { continue }
            self.init(domain: bdf.domain, bus: bdf.bus, slot: keepsSlot ? bdf.device : nil, function: nil)
            return
        }
        return nil
    }

    private init(domain: UInt16, bus: UInt8, slot: UInt8?, function: UInt8?) {
        self.domain = domain
        self.bus = bus
        self.slot = slot
        self.function = function
    }

    /// The canonical form: `0000:04:00.1`, `0000:04:00.*`, `0000:04:*.*`.
    public var description: String {
        let base = BDF(domain: domain, bus: bus, device: slot ?? 0, function: 0)?.description ?? ""
        let stem = String(base.dropLast(2))  // "0000:04:00"
        switch (slot, function) {
        case (_?, let function?): return stem + "." + String(function)
        case (_?, nil): return stem + ".*"
        default: return String(stem.dropLast(3)) + ":*.*"
        }
    }

    /// The one address it names, when it has no wildcard.
    public var address: BDF? {
        guard let slot, let function else { return nil }
        return BDF(domain: domain, bus: bus, device: slot, function: function)
    }

    /// Whether the pattern covers `bdf`.
    public func matches(_ bdf: BDF) -> Bool {
        bdf.domain == domain && bdf.bus == bus && (slot.map { $0 == bdf.device } ?? true)
            && (function.map { $0 == bdf.function } ?? true)
    }
}
