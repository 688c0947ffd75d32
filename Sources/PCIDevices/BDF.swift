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
        guard let parsed = text.utf8.withContiguousStorageIfAvailable(Self.parse) ?? Self.parse(Array(text.utf8)) else { return nil }
        self = parsed
    }

    /// The same from UTF-8 bytes (a link's target as read), byte by byte against the pattern: a
    /// bus listing parses thousands.
    public init?(utf8 bytes: some Collection<UInt8>) {
        guard let parsed = Self.parse(bytes) else { return nil }
        self = parsed
    }

    private static func parse(_ bytes: some Collection<UInt8>) -> BDF? {
        let pattern: StaticString
        switch bytes.count {
        case 12: pattern = "DDDD:BB:SS.F"
        case 7: pattern = "BB:SS.F"
        default: return nil
        }
        var fields = (domain: UInt32(0), bus: UInt32(0), device: UInt32(0), function: UInt32(0))
        for (expected, byte) in zip(UnsafeBufferPointer(start: pattern.utf8Start, count: pattern.utf8CodeUnitCount), bytes) {
            if expected == UInt8(ascii: ":") || expected == UInt8(ascii: ".") {
                guard byte == expected else { return nil }
                continue
            }
            guard let digit = hexValue(byte) else { return nil }
            switch expected {
            case UInt8(ascii: "D"): fields.domain = fields.domain << 4 | digit
            case UInt8(ascii: "B"): fields.bus = fields.bus << 4 | digit
            case UInt8(ascii: "S"): fields.device = fields.device << 4 | digit
            default: fields.function = digit
            }
        }
        return BDF(domain: UInt16(fields.domain), bus: UInt8(fields.bus), device: UInt8(fields.device), function: UInt8(fields.function))
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// The canonical form: `0000:04:01.0`, lower-case hex.
    public var description: String {
        String(unsafeUninitializedCapacity: 12) { buffer in
            var at = 0
            func put(_ value: UInt32, _ width: Int) {
                for shift in stride(from: (width - 1) * 4, through: 0, by: -4) {
                    let nibble = UInt8(value >> UInt32(shift) & 0xf)
                    buffer[at] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
                    at += 1
                }
            }
            func put(_ separator: UInt8) {
                buffer[at] = separator
                at += 1
            }
            put(UInt32(domain), 4); put(UInt8(ascii: ":")); put(UInt32(bus), 2); put(UInt8(ascii: ":"))
            put(UInt32(device), 2); put(UInt8(ascii: ".")); put(UInt32(function), 1)
            return at
        }
    }

    /// The four fields in one number, ordered as addresses are: one comparison and one hash
    /// step each (a bus of thousands is sorted, and its addresses set and looked up).
    private var packed: UInt32 { UInt32(domain) << 16 | UInt32(bus) << 8 | UInt32(device) << 3 | UInt32(function) }

    public static func < (a: BDF, b: BDF) -> Bool { a.packed < b.packed }

    public static func == (a: BDF, b: BDF) -> Bool { a.packed == b.packed }

    public func hash(into hasher: inout Hasher) { hasher.combine(packed) }

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
