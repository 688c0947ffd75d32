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
