import Dom0Core

/// The devices of `xen-pciback.hide=(0000:04:00.0)(0000:00:19.*)`.
public struct HideList: Sendable, Equatable, CustomStringConvertible {
    /// The boot argument's key, on dom0's command line.
    public static let key = "xen-pciback.hide"

    /// The hidden slots, in order, without duplicates.
    public private(set) var slots: [PCISlotPattern]

    /// An empty list.
    public init() { slots = [] }

    /// Parses the value after `xen-pciback.hide=`.
    public init(parsing value: String) throws(Dom0Error) {
        slots = []
        var rest = Substring(value)
        while !rest.isEmpty {
            guard rest.first == "(", let close = rest.firstIndex(of: ")") else {
                throw Dom0Error(.usage, "malformed xen-pciback.hide value", at: value.quotedForDisplay,
                                why: "expected (BDF) groups", fix: "write it as in (0000:04:00.0)(0000:00:19.0)")
            }
            let inside = rest[rest.index(after: rest.startIndex)..<close]
            guard let slot = PCISlotPattern(inside) else {
                throw Dom0Error(.usage, "malformed PCI address in xen-pciback.hide", at: String(inside).quotedForDisplay,
                                why: "expected dddd:bb:dd.f or bb:dd.f (hex; * for the function, or for slot and function)",
                                fix: "lspci -D shows the addresses, as 0000:04:00.0")
            }
            add(slot)
            rest = rest[rest.index(after: close)...]
        }
    }

    /// Addresses as an operator types them, one each (`04:00.0`, `0000:01:00.*`).
    public init(addresses: [String]) throws(Dom0Error) {
        slots = []
        for address in addresses { add(try Self.slot(address)) }
    }

    /// Whether no device is hidden.
    public var isEmpty: Bool { slots.isEmpty }

    /// Adds a slot unless it is already there; returns whether it was added.
    @discardableResult
    public mutating func add(_ slot: PCISlotPattern) -> Bool {
        guard !slots.contains(slot) else { return false }
        slots.append(slot)
        return true
    }

    /// Removes a slot; returns whether it was there.
    @discardableResult
    public mutating func remove(_ slot: PCISlotPattern) -> Bool {
        guard let index = slots.firstIndex(of: slot) else { return false }
        slots.remove(at: index)
        return true
    }

    /// The list with each pattern (`0000:04:00.*`) replaced by the functions on `bus` it covers,
    /// in address order: the kernel reads patterns, XAPI does not (it reads only full entries, and
    /// fails for every device of the host on any other). Throws naming a pattern that covers none.
    public func expandingPatterns(on bus: PCIBus) throws(Dom0Error) -> HideList {
        guard slots.contains(where: { $0.address == nil }) else { return self }
        let present = try bus.addresses()
        var list = HideList()
        for slot in slots {
            guard slot.address == nil else {
                list.add(slot)
                continue
            }
            let covered = present.filter(slot.matches)
            guard !covered.isEmpty else {
                throw Dom0Error(.usage, "\(slot) covers no PCI function on this host", at: Self.key,
                                why: "a pattern is written as the functions it covers, since XAPI reads only (DDDD:BB:DD.F) entries",
                                fix: "name the functions (lspci -D); pciback-agent's rules take patterns")
            }
            for bdf in covered { if let full = PCISlotPattern(bdf.description) { list.add(full) } }
        }
        return list
    }

    /// The value as the kernel reads it: `(0000:04:00.0)(0000:00:19.0)`.
    public var description: String { slots.map { "(\($0))" }.joined() }

    /// Parses one address as an operator types it; throws naming it when malformed.
    public static func slot(_ text: String) throws(Dom0Error) -> PCISlotPattern {
        guard let slot = PCISlotPattern(text) else {
            throw Dom0Error(.usage, "malformed PCI address", at: text.quotedForDisplay,
                            why: "expected dddd:bb:dd.f or bb:dd.f (hex; * for the function, or for slot and function)",
                            fix: "lspci -D shows the addresses, as 0000:04:00.0")
        }
        return slot
    }
}
