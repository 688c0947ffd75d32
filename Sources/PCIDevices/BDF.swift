/// A PCI address: domain, bus, device (slot) and function, as sysfs and Xen write it
/// (`0000:04:01.0`).
public struct BDF: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The PCI segment (domain).
    public var domain: UInt16
    /// The bus number.
    public var bus: UInt8
    /// The device (slot) number, 0–31.
    public var device: UInt8
    /// The function number, 0–7.
    public var function: UInt8

    /// An address from its parts; nil when device or function is out of range.
    public init?(domain: UInt16 = 0, bus: UInt8, device: UInt8, function: UInt8) {
        guard device < 32, function < 8 else { return nil }
        self.domain = domain
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// Parses `dddd:bb:dd.f` or `bb:dd.f` (domain 0000), hex in either case; nil when malformed.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        let slot = parts[parts.count - 1].split(separator: ".", omittingEmptySubsequences: false)
        guard slot.count == 2,
              let domain = parts.count == 3 ? Self.hex(parts[0], digits: 4).map(UInt16.init) : 0,
              let bus = Self.hex(parts[parts.count - 2], digits: 2),
              let device = Self.hex(slot[0], digits: 2),
              let function = Self.hex(slot[1], digits: 1)
        else { return nil }
        self.init(domain: domain, bus: UInt8(bus), device: UInt8(device), function: UInt8(function))
    }

    private static func hex(_ text: some StringProtocol, digits: Int) -> UInt32? {
        guard text.count == digits, text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt32(text, radix: 16)
    }

    /// The canonical form: `0000:04:01.0`, lower-case hex.
    public var description: String {
        hex(domain, 4) + ":" + hex(bus, 2) + ":" + hex(device, 2) + "." + String(function)
    }

    private func hex(_ value: some BinaryInteger, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    public static func < (a: BDF, b: BDF) -> Bool {
        (a.domain, a.bus, a.device, a.function) < (b.domain, b.bus, b.device, b.function)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bdf = BDF(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "\"\(text)\" is not a PCI address (dddd:bb:dd.f)"))
        }
        self = bdf
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
