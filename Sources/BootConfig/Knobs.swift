import Dom0Core
import PCIDevices

/// The keys of the boot arguments Dom0Kit has types for (`BootSetting`).
public enum BootKnob {
    /// `xen-pciback.hide`, on dom0's line.
    public static let hide = HideList.key
    /// `dom0_mem`, on Xen's line.
    public static let dom0Memory = "dom0_mem"
    /// `iommu`, on Xen's line (and `iommu=pt` on a native kernel's).
    public static let iommu = "iommu"
    /// `vfio-pci.ids`, on a native kernel's line.
    public static let vfioIDs = "vfio-pci.ids"
    /// `dom0_max_vcpus`, `dom0_vcpus_pin`, `dom0_nodes` and `sched-gran`, on Xen's line.
    public static let dom0MaxVCPUs = "dom0_max_vcpus"
    public static let dom0VCPUsPin = "dom0_vcpus_pin"
    public static let dom0Nodes = "dom0_nodes"
    public static let schedGranularity = "sched-gran"
}

/// Xen's line or dom0's (a native kernel's) line.
public enum BootLine: String, Sendable, Codable, CaseIterable {
    /// The hypervisor's arguments (`multiboot2 /boot/xen.gz …`, GRUB_CMDLINE_XEN_DEFAULT).
    case xen
    /// The dom0 kernel's arguments (the first `module2` line, GRUB_CMDLINE_LINUX_DEFAULT).
    case dom0
}

/// A size as Xen writes it: an integer with K, M, G, T or B (kilobytes without a suffix).
public struct XenSize: Sendable, Equatable, Comparable, CustomStringConvertible {
    /// Bytes.
    public var bytes: UInt64
    /// The text it was written as.
    public var text: String

    /// Parses `512M`, `4G`, `1048576K`, `2T`.
    public init?(_ text: some StringProtocol) {
        var digits = Substring(text)
        let multipliers: [Character: UInt64] = ["T": 1 << 40, "G": 1 << 30, "M": 1 << 20, "K": 1 << 10, "B": 1]
        var multiplier: UInt64 = 1024
        if let last = digits.last, last.isLetter {
            guard let known = multipliers[Character(last.uppercased())] else { return nil }
            multiplier = known
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let number = UInt64(digits) else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        self.bytes = bytes
        self.text = String(text)
    }

    /// Parses a size of dom0_mem's, refusing what is not one with the reason.
    public init(parsing text: some StringProtocol) throws(Dom0Error) {
        guard let size = XenSize(text) else {
            let digits = text.last.map { "TGMKBtgmkb".contains($0) } == true ? Substring(text.dropLast()) : Substring(text)
            if case .failure(.tooLarge) = UInt64.parseWhole(digits) {
                throw Dom0Error(.usage, "the size in \(BootKnob.dom0Memory) is too large", at: String(text).quotedForDisplay,
                                why: "more bytes than a 64-bit count holds", fix: "write sizes as in 4096M or 4G")
            }
            throw Dom0Error(.usage, "malformed size in \(BootKnob.dom0Memory)", at: String(text).quotedForDisplay,
                            why: "expected a number with K, M, G or T", fix: "write sizes as in 4096M or 4G")
        }
        self = size
    }

    public var description: String { text }

    public static func < (a: XenSize, b: XenSize) -> Bool { a.bytes < b.bytes }
}

/// `dom0_mem=[min:SIZE,][max:SIZE,][SIZE]`: dom0's initial memory and its bounds.
public struct Dom0Memory: Sendable, Equatable, CustomStringConvertible {
    /// The amount dom0 starts with.
    public var amount: XenSize?
    /// The least dom0 may have.
    public var minimum: XenSize?
    /// The most dom0 may balloon up to.
    public var maximum: XenSize?

    /// From sizes: each at least `least`, the amount and minimum at most the maximum.
    public init(amount: XenSize?, minimum: XenSize? = nil, maximum: XenSize?) throws(Dom0Error) {
        self.amount = amount
        self.minimum = minimum
        self.maximum = maximum
        let value = description
        // dom0 does not boot in less; 0 (or a typo as small) would leave the host without a control domain.
        for (name, bound) in [("the amount", amount), ("min", minimum), ("max", maximum)] {
            if let bound, bound.bytes < Self.least.bytes {
                throw Dom0Error(.usage, "\(BootKnob.dom0Memory)=\(value): \(name) \(bound) is too small for dom0", at: value,
                                why: "dom0 needs at least \(Self.least) to boot", fix: "give dom0 \(Self.least) or more, as in 4096M")
            }
        }
        if let maximum {
            for (name, bound) in [("the amount", amount), ("min", minimum)] {
                if let bound, bound > maximum {
                    throw Dom0Error(.usage, "\(BootKnob.dom0Memory)=\(value): \(name) exceeds max", at: value,
                                    fix: "make \(bound) at most \(maximum)")
                }
            }
        }
    }

    /// From an amount and an optional maximum as host-prepare and specs give them (`4096M`, `8G`).
    public init(amount: String, maximum: String?) throws(Dom0Error) {
        try self.init(amount: try XenSize(parsing: amount), maximum: try maximum.map { text throws(Dom0Error) in try XenSize(parsing: text) })
    }

    /// Parses the value after `dom0_mem=`: `[min:SIZE,][max:SIZE,][SIZE]`.
    public init(parsing value: String) throws(Dom0Error) {
        var amount, minimum, maximum: XenSize?
        for part in value.split(separator: ",", omittingEmptySubsequences: false) {
            if part.hasPrefix("max:") { maximum = try XenSize(parsing: part.dropFirst(4)) }
            else if part.hasPrefix("min:") { minimum = try XenSize(parsing: part.dropFirst(4)) }
            else { amount = try XenSize(parsing: part) }
        }
        try self.init(amount: amount, minimum: minimum, maximum: maximum)
    }

    /// The least memory any part of a dom0_mem value may give dom0.
    public static let least = XenSize("128M")!

    /// The value as Xen reads it.
    public var description: String {
        [amount.map(\.text), minimum.map { "min:\($0)" }, maximum.map { "max:\($0)" }].compactMap { $0 }
            .joined(separator: ",")
    }
}

/// Xen's `iommu=` list, as Xen's command-line documentation defines it.
public struct XenIOMMU: Sendable, Equatable, CustomStringConvertible {
    /// The list as written, every element checked.
    public let value: String
    /// Sub-options that take `=<bool>` or a `no-` prefix.
    static let booleanOptions: Set<String> = [
        "force", "required", "quarantine", "sharept", "superpages", "intremap", "intpost", "crash-debug",
        "qinval", "snoop", "dom0-passthrough", "dom0-strict", "amd-iommu-perdev-intremap",
        "workaround_bios_bug", "igfx", "verbose", "debug",
    ]
    /// Xen's spellings of a boolean.
    static let booleans = XenBoolean.words

    public var description: String { value }

    /// Parses the value after `iommu=`, checking every element.
    public init(parsing value: String) throws(Dom0Error) {
        for element in value.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            if Self.booleans.contains(element) { continue }
            var name = element
            var setting: String?
            if let equals = element.firstIndex(of: "=") {
                name = String(element[..<equals])
                setting = String(element[element.index(after: equals)...])
            }
            if setting == nil, name.hasPrefix("no-") { name = String(name.dropFirst(3)) }
            let settingIsValid = setting.map { Self.booleans.contains($0) || (name == "quarantine" && $0 == "scratch-page") } ?? true
            guard Self.booleanOptions.contains(name), settingIsValid else {
                throw Dom0Error(.usage, "unknown iommu= element '\(element)'", at: "iommu=\(value)",
                                why: "Xen takes a boolean or, each optionally no- prefixed or =<bool>: "
                                    + Self.booleanOptions.sorted().joined(separator: ", "),
                                fix: "write one of those, as in iommu=1,no-intremap (or \(set: .forceBootValues) to skip this check)")
            }
        }
        self.value = value
    }
}

/// `vfio-pci.ids=vvvv:dddd[:svvv:sddd[:cccccc:mmmmmm]],…`: the ids vfio-pci claims at boot.
public struct VFIOIDs: Sendable, Equatable, CustomStringConvertible {
    /// The ids, in order, without duplicates.
    public private(set) var ids: [String] = []

    /// An empty list.
    public init() {}

    /// Parses the value after `vfio-pci.ids=`.
    public init(parsing value: String) throws(Dom0Error) {
        try self.init(value.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
    }

    /// Ids as an operator types them, one each (`10DE:1C81`).
    public init(_ ids: [String]) throws(Dom0Error) {
        for id in ids { try add(id) }
    }

    /// Whether there are none.
    public var isEmpty: Bool { ids.isEmpty }

    /// Adds an id (validated, lower-cased) unless present; returns whether it was added.
    @discardableResult
    public mutating func add(_ id: String) throws(Dom0Error) -> Bool {
        let id = try Self.validated(id)
        guard !ids.contains(id) else { return false }
        ids.append(id)
        return true
    }

    /// Removes an id; returns whether it was there.
    @discardableResult
    public mutating func remove(_ id: String) throws(Dom0Error) -> Bool {
        let id = try Self.validated(id)
        guard let index = ids.firstIndex(of: id) else { return false }
        ids.remove(at: index)
        return true
    }

    public var description: String { ids.joined(separator: ",") }

    static func validated(_ id: String) throws(Dom0Error) -> String {
        let fields = id.split(separator: ":", omittingEmptySubsequences: false)
        let widths = [4, 4, 4, 4, 6, 6]
        let valid = [2, 4, 6].contains(fields.count)
            && zip(fields, widths).allSatisfy { field, width in field.count == width && field.allSatisfy(\.isHexDigit) }
        guard valid else {
            throw Dom0Error(.usage, "malformed vfio-pci id", at: id.quotedForDisplay,
                            why: "expected vvvv:dddd, vvvv:dddd:svvv:sddd or with :class:mask (hex)",
                            fix: "lspci -nn shows the ids, as 10de:1c81")
        }
        return id.lowercased()
    }
}
