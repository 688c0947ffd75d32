import Dom0Core
import SystemPackage

/// CPU weight as cgroup v2 and systemd's CPUWeight= take it, with the conversions systemd makes.
public enum CPUWeight {
    /// The range of CPUWeight=.
    public static let range: ClosedRange<Int> = 1...10000
    /// The range of CPUShares=.
    public static let sharesRange: ClosedRange<Int> = 2...262144

    /// shares × 100 / 1024, clamped to 1…10000, as systemd converts CPUShares= (10240 → 1000).
    public static func fromShares(_ shares: Int) -> Int {
        min(max(shares * 100 / 1024, range.lowerBound), range.upperBound)
    }

    /// weight × 1024 / 100, clamped to 2…262144, as systemd applies CPUWeight= on cgroup v1.
    public static func toShares(_ weight: Int) -> Int {
        min(max(weight * 1024 / 100, sharesRange.lowerBound), sharesRange.upperBound)
    }
}

/// What the control slice should be: its name, CPU weight, optional other resources, and members.
public struct SliceConfig: Sendable, Equatable, Encodable {
    /// The config file.
    public static let path: FilePath = "/etc/dom0kit/control-slice.conf"
    /// The control-plane units made members when the config names none, if the host has them.
    public static let defaultMembers = [
        "xapi", "xenopsd-xc", "xcp-networkd", "xcp-rrdd", "squeezed", "v6d", "message-switch", "forkexecd",
        "xenstored", "oxenstored", "cxenstored", "xenconsoled", "perfmon", "sshd",
    ].map { $0 + ".service" }

    /// The slice unit's name.
    public var name = "control.slice"
    /// CPU weight (1…10000); XenServer's CPUShares=10240 is 1000.
    public var cpuWeight = 1000
    /// Weight while the system starts up, if set.
    public var startupCPUWeight: Int?
    /// Memory the slice is guaranteed (MemoryMin=), as systemd writes it, if set.
    public var memoryMin: String?
    /// IO weight (1…10000), if set.
    public var ioWeight: Int?
    /// Member units; nil: the default members present on the host.
    public var members: [String]?

    /// The defaults: control.slice, weight 1000, the default members.
    public init() {}

    /// Reads the config file under `root`; a missing file gives nil (unconfigured).
    public static func load(from root: HostRoot, path: FilePath = SliceConfig.path) throws(Dom0Error) -> SliceConfig? {
        guard let text = try root.readText(path) else { return nil }
        return try parse(text, file: path.string)
    }

    /// Parses systemd-style ini: [Slice] Name, CPUWeight or CPUShares, StartupCPUWeight,
    /// MemoryMin, IOWeight; [Members] Units (space-separated, repeatable; empty resets).
    public static func parse(_ text: String, file: String) throws(Dom0Error) -> SliceConfig {
        var config = SliceConfig()
        var section: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingWhitespace
            let location = "\(file):\(index + 1)"
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), ["[Slice]", "[Members]"].contains(line) else {
                    throw Dom0Error(.usage, "unknown section \(line)", at: location, fix: "sections are [Slice] and [Members]")
                }
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw Dom0Error(.usage, "expected KEY=VALUE", at: location, why: "found \(line.quotedForDisplay)",
                                fix: "write KEY=VALUE lines under [Slice] or [Members]")
            }
            let key = String(line[..<equals]).trimmingWhitespace
            let value = String(line[line.index(after: equals)...]).trimmingWhitespace
            switch (section, key) {
            case ("Slice", "Name"): config.name = try sliceName(value, at: location)
            case ("Slice", "CPUWeight"): config.cpuWeight = try number(value, CPUWeight.range, key, at: location)
            case ("Slice", "CPUShares"): config.cpuWeight = CPUWeight.fromShares(try number(value, CPUWeight.sharesRange, key, at: location))
            case ("Slice", "StartupCPUWeight"): config.startupCPUWeight = try number(value, CPUWeight.range, key, at: location)
            case ("Slice", "IOWeight"): config.ioWeight = try number(value, 1...10000, key, at: location)
            case ("Slice", "MemoryMin"): config.memoryMin = try memory(value, at: location)
            case ("Members", "Units"):
                let units = try value.split(separator: " ").map { unit throws(Dom0Error) in try unitName(String(unit), at: location) }
                config.members = units.isEmpty ? [] : (config.members ?? []) + units
            case (nil, _):
                throw Dom0Error(.usage, "\(key)= outside a section", at: location, fix: "put it under [Slice] or [Members]")
            default:
                throw Dom0Error(.usage, "unknown key \(key)= in [\(section ?? "")]", at: location,
                                fix: "[Slice] takes Name, CPUWeight, CPUShares, StartupCPUWeight, MemoryMin, IOWeight; [Members] takes Units")
            }
        }
        return config
    }

    static func number(_ text: String, _ range: ClosedRange<Int>, _ key: String, at location: String) throws(Dom0Error) -> Int {
        let fix = "\(key) takes a whole number from \(range.lowerBound) to \(range.upperBound)"
        switch Int.parseWhole(text) {
        case .failure(let problem):
            throw Dom0Error(.usage, "\(key)=\(text.quotedForDisplay): the value \(problem.words)", at: location, fix: fix)
        case .success(let value):
            guard range.contains(value) else { throw Dom0Error(.usage, "\(key)=\(text) is out of range", at: location, fix: fix) }
            return value
        }
    }

    /// A unit name as systemd accepts it; a bare name becomes NAME.service.
    public static func unitName(_ text: String, at location: String) throws(Dom0Error) -> String {
        let allowed = text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ":_.\\@-".contains($0)) }
        guard !text.isEmpty, allowed, text.count < 256 else {
            throw Dom0Error(.usage, "'\(text)' is not a unit name", at: location,
                            fix: "unit names are letters, digits and :_.\\@- (no '/'), as in xapi.service")
        }
        return text.contains(".") ? text : text + ".service"
    }

    /// A slice unit name; throws naming `location` when it is not one.
    public static func sliceName(_ text: String, at location: String) throws(Dom0Error) -> String {
        let name = try unitName(text, at: location)
        guard name.hasSuffix(".slice"), name != "-.slice" else {
            throw Dom0Error(.usage, "'\(text)' is not a slice", at: location, fix: "slice names end in .slice, as in control.slice")
        }
        return name
    }

    static func memory(_ text: String, at location: String) throws(Dom0Error) -> String {
        var digits = Substring(text)
        if let last = digits.last, "KMGT%".contains(last.uppercased()) { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw Dom0Error(.usage, "MemoryMin=\(text) is not a size", at: location, fix: "write bytes with K, M, G or T, or a percentage")
        }
        return text
    }
}
