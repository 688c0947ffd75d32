import Dom0Core
import SystemPackage

/// A driver that keeps a device from dom0: what the rules bind hidden devices to.
public enum PassthroughDriver: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// Xen's pciback (the device goes to a guest through Xen).
    case pciback
    /// vfio-pci (KVM, or a userspace driver).
    case vfioPCI = "vfio-pci"
    /// pci-stub: held, used by nothing.
    case pciStub = "pci-stub"

    /// The kernel module that provides it.
    public var module: String { self == .pciback ? "xen-pciback" : rawValue }

    public var description: String { rawValue }
}

/// Which devices are hidden from dom0, and for which driver.
public struct BindRule: Sendable, Equatable, Encodable, CustomStringConvertible {
    /// What a rule matches.
    public enum Match: Sendable, Equatable {
        case slot(PCISlotPattern)
        case ids(vendor: UInt16, device: UInt16, subsystemVendor: UInt16?, subsystemDevice: UInt16?)
        case classCode(UInt16)
        case virtualFunctionsOf(BDF)
    }

    public var match: Match
    public var driver: PassthroughDriver
    /// The file it came from ("/etc/dom0kit/pciback.conf", "/proc/cmdline") and its line there, if
    /// it has lines (kept apart, and joined only when shown: a host hides a thousand functions).
    public var file: String
    public var line: Int?

    /// A rule binding what `match` matches to `driver`.
    public init(match: Match, driver: PassthroughDriver, file: String, line: Int? = nil) {
        self.match = match
        self.driver = driver
        self.file = file
        self.line = line
    }

    /// Where it came from: "/etc/dom0kit/pciback.conf:3", "/proc/cmdline".
    public var source: String { line.map { "\(file):\($0)" } ?? file }

    public func matches(_ device: PCIDevice) -> Bool {
        switch match {
        case .slot(let pattern): pattern.matches(device.bdf)
        case .ids(let vendor, let id, let subVendor, let subDevice):
            device.vendor == vendor && device.device == id && (subVendor.map { $0 == device.subsystemVendor } ?? true)
                && (subDevice.map { $0 == device.subsystemDevice } ?? true)
        case .classCode(let code): UInt16(device.classCode >> 8) == code
        case .virtualFunctionsOf(let pf): device.physicalFunction == pf
        }
    }

    public var description: String {
        let what = switch match {
        case .slot(let pattern): pattern.description
        case .ids(let vendor, let device, let subVendor, let subDevice):
            "id " + ([vendor, device] + [subVendor, subDevice].compactMap { $0 }).map { hex4($0) }.joined(separator: ":")
        case .classCode(let code): "class " + hex4(code)
        case .virtualFunctionsOf(let pf): "vfs-of \(pf)"
        }
        return "\(what) \(driver)"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description + " (\(source))")
    }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}

/// The rules: `/etc/dom0kit/pciback.conf`, then the running `xen-pciback.hide=` (pciback, by definition).
public enum BindRules {
    public static let path: FilePath = "/etc/dom0kit/pciback.conf"

    /// Reads both sources under the root; `configured`, when given, stands for the config file's
    /// rules (those a plan is about to write).
    public static func load(_ root: HostRoot, configured: [BindRule]? = nil) throws(Dom0Error) -> BindRuleSet {
        var rules = configured
        if rules == nil { rules = try root.readText(path).map { text throws(Dom0Error) in try parse(text, file: path.string) } }
        return BindRuleSet((rules ?? []) + (try running(root)))
    }

    /// The devices the running kernel's command line hides, as pciback rules. The line is split
    /// as the kernel splits it (a quoted value keeps its blanks), by the one tokenizer boot lines use.
    static func running(_ root: HostRoot) throws(Dom0Error) -> [BindRule] {
        guard let cmdline = try root.readText("/proc/cmdline") else { return [] }
        var rules: [BindRule] = []
        for token in BootArguments(parsing: cmdline).values(of: HideList.key) {
            let list = try HideList(parsing: String(token.dropFirst(HideList.key.count + 1)))
            rules += list.slots.map { BindRule(match: .slot($0), driver: .pciback, file: "/proc/cmdline") }
        }
        return rules
    }

    /// The config file that holds `rules`, one per line in canonical form.
    public static func configFile(_ rules: [BindRule], header: String) -> String {
        "# \(header)\n" + rules.map { "\($0)\n" }.joined()
    }

    /// Lines of `MATCH DRIVER`: a PCI address (with * wildcards), `id vvvv:dddd[:svvv:sddd]`,
    /// `class cccc`, or `vfs-of BDF`; `#` starts a comment.
    /// Read by bytes, no String per word (a host hides a thousand functions by address, and health
    /// reads the file on every run); words are split on Unicode's blanks, so a CRLF line ends in a
    /// blank and a rule pasted from a wiki page with a no-break space reads as typed.
    public static func parse(_ text: String, file: String) throws(Dom0Error) -> [BindRule] {
        var rules: [BindRule] = []
        for (index, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let content = raw.prefix { $0 != UInt8(ascii: "#") }
            let words = Words(content)
            guard words.count > 0 else { continue }
            func bad(_ why: String) -> Dom0Error {
                let line = String(decoding: content, as: UTF8.self)
                return Dom0Error(.usage, "bad rule \(line.trimmingWhitespace.quotedForDisplay)", at: "\(file):\(index + 1)", why: why,
                                 fix: "write ADDRESS DRIVER, id VENDOR:DEVICE DRIVER, class CODE DRIVER or vfs-of ADDRESS DRIVER")
            }
            guard words.count <= 3, let driver = PassthroughDriver(rawValue: String(decoding: words.last, as: UTF8.self)) else {
                throw bad(words.count > 3 ? "unexpected words"
                          : "the last word must be one of " + PassthroughDriver.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let first = words.first, second = String(decoding: words.second, as: UTF8.self)
            let match: BindRule.Match
            switch words.count {
            case 3 where first.elementsEqual("id".utf8):
                let fields = second.split(separator: ":", omittingEmptySubsequences: false)
                let ids = fields.map { $0.count == 4 ? UInt16($0, radix: 16) : nil }
                guard [2, 4].contains(ids.count), ids.allSatisfy({ $0 != nil }) else { throw bad("ids are vvvv:dddd or vvvv:dddd:svvv:sddd in hex") }
                let values = ids.compactMap { $0 }
                match = .ids(vendor: values[0], device: values[1], subsystemVendor: values.count == 4 ? values[2] : nil,
                             subsystemDevice: values.count == 4 ? values[3] : nil)
            case 3 where first.elementsEqual("class".utf8):
                guard second.utf8.count == 4, let code = UInt16(second, radix: 16) else { throw bad("a class is four hex digits, as 0300") }
                match = .classCode(code)
            case 3 where first.elementsEqual("vfs-of".utf8):
                guard let pf = BDF(second) else { throw bad("vfs-of takes a PCI address") }
                match = .virtualFunctionsOf(pf)
            case 2:
                let address = String(decoding: first, as: UTF8.self)
                guard let pattern = PCISlotPattern(address) else { throw bad("'\(address)' is not a PCI address") }
                match = .slot(pattern)
            default:
                throw bad("unexpected words")
            }
            rules.append(BindRule(match: match, driver: driver, file: file, line: index + 1))
        }
        return rules
    }

    /// A rule line's words, split on Unicode's blanks (an ASCII byte is its own scalar, anything
    /// else is decoded): how many, and the first, second and last (a rule has at most three).
    private struct Words {
        typealias Bytes = Substring.UTF8View
        private let line: Bytes
        private(set) var count = 0
        private var ranges: (first: Range<Bytes.Index>, second: Range<Bytes.Index>, last: Range<Bytes.Index>)

        init(_ line: Bytes) {
            self.line = line
            let none = line.endIndex..<line.endIndex
            ranges = (none, none, none)
            var start: Bytes.Index?, at = line.startIndex
            while at < line.endIndex {
                let (blank, next) = Self.blank(line, at)
                if blank, let begun = start { add(begun..<at); start = nil }
                if !blank, start == nil { start = at }
                at = next
            }
            if let begun = start { add(begun..<line.endIndex) }
        }

        private mutating func add(_ range: Range<Bytes.Index>) {
            count += 1
            if count == 1 { ranges.first = range }
            if count == 2 { ranges.second = range }
            ranges.last = range
        }

        var first: Bytes { line[ranges.first] }
        var second: Bytes { line[ranges.second] }
        var last: Bytes { line[ranges.last] }

        /// Whether the scalar at `index` is a blank, and where the next one starts.
        private static func blank(_ line: Bytes, _ index: Bytes.Index) -> (Bool, Bytes.Index) {
            let byte = line[index]
            if byte < 0x80 { return (byte == UInt8(ascii: " ") || (0x09...0x0d).contains(byte), line.index(after: index)) }
            var decoder = Unicode.UTF8.ForwardParser()
            var bytes = line[index...].makeIterator()
            guard case .valid(let encoded) = decoder.parseScalar(from: &bytes) else {
                return (false, line.index(after: index))
            }
            let scalar = Unicode.UTF8.decode(encoded)
            return (scalar.properties.isWhitespace, line.index(index, offsetBy: encoded.count))
        }
    }
}

/// Rules in order, indexed so that finding a device's rule does not try every rule: hosts hide
/// a thousand functions by address (one rule each) and have thousands more on the bus.
public struct BindRuleSet: Sendable {
    public let rules: [BindRule]
    /// The first rule naming each exact address.
    private let exact: [BDF: Int]
    /// The positions of the other rules (wildcards, ids, classes, VFs).
    private let general: [Int]

    public init(_ rules: [BindRule]) {
        self.rules = rules
        var exact: [BDF: Int] = [:], general: [Int] = []
        for (index, rule) in rules.enumerated() {
            if case .slot(let pattern) = rule.match, let bdf = pattern.address {
                if exact[bdf] == nil { exact[bdf] = index }
            } else {
                general.append(index)
            }
        }
        self.exact = exact
        self.general = general
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// The position of the first rule that matches a device (the one that decides its driver).
    public func firstMatch(for device: PCIDevice) -> Int? {
        let byAddress = exact[device.bdf]
        let other = general.first { index in (byAddress.map { index < $0 } ?? true) && rules[index].matches(device) }
        return other ?? byAddress
    }

    /// The rule that decides a device's driver.
    public func target(for device: PCIDevice) -> BindRule? {
        firstMatch(for: device).map { rules[$0] }
    }
}
