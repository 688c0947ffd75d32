import Dom0Core

/// Xen's spellings of a boolean on its command line (xen/common/kernel.c, parse_bool).
public enum XenBoolean {
    public static let trueWords: Set<String> = ["yes", "on", "true", "enable", "1"]
    public static let falseWords: Set<String> = ["no", "off", "false", "disable", "0"]
    public static let words = trueWords.union(falseWords)
}

/// `dom0_max_vcpus=N | MIN-MAX | MIN- | -MAX`: how many vCPUs Xen gives dom0. Xen counts the CPUs
/// dom0 may run on (all, or those of `dom0_nodes`) and clamps that count into [MIN, MAX].
public struct Dom0VCPUs: Sendable, Equatable, CustomStringConvertible {
    /// The least; nil is 1.
    public var minimum: Int?
    /// The most; nil is no bound.
    public var maximum: Int?

    /// More than any Xen build runs (NR_CPUS is at most 4095): a larger number is a typo.
    public static let limit = 4096

    /// Parses the value after `dom0_max_vcpus=`, as a spec's `vcpus: 4` or `vcpus: 2-8` gives it.
    public init(parsing value: String) throws(Dom0Error) {
        let parts = value.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        func count(_ text: Substring) throws(Dom0Error) -> Int? {
            if text.isEmpty && parts.count == 2 { return nil }
            guard let number = Int.parseDigits(text), (1...Self.limit).contains(number) else {
                throw Dom0Error(.usage, "\(BootKnob.dom0MaxVCPUs)=\(value): \(String(text).quotedForDisplay) is not a vCPU count",
                                at: "\(BootKnob.dom0MaxVCPUs)=\(value)", why: "counts are whole numbers from 1 to \(Self.limit)",
                                fix: "write N or MIN-MAX, as 4 or 2-8")
            }
            return number
        }
        minimum = try count(parts[0])
        maximum = parts.count == 2 ? try count(parts[1]) : minimum
        if minimum == nil && maximum == nil {
            throw Dom0Error(.usage, "\(BootKnob.dom0MaxVCPUs)=\(value) gives no count", at: value.quotedForDisplay,
                            fix: "write N or MIN-MAX, as 4 or 2-8")
        }
        if let minimum, let maximum, minimum > maximum {
            throw Dom0Error(.usage, "\(BootKnob.dom0MaxVCPUs)=\(value): MIN exceeds MAX", at: value.quotedForDisplay,
                            fix: "write MIN-MAX with MIN ≤ MAX, as 2-8")
        }
    }

    /// The number of vCPUs Xen gives dom0 when dom0 may run on `cpus` CPUs.
    public func count(onCPUs cpus: Int) -> Int {
        min(max(cpus, minimum ?? 1), maximum ?? Int.max)
    }

    /// Whether a dom0 with `count` vCPUs is what this asks for, whatever the host's CPUs.
    public func allows(_ count: Int) -> Bool {
        count >= (minimum ?? 1) && count <= (maximum ?? Int.max)
    }

    /// As Xen reads it: `4`, `2-8`, `2-`, `-8`.
    public var description: String {
        if let minimum, minimum == maximum { return "\(minimum)" }
        return (minimum.map(String.init) ?? "") + "-" + (maximum.map(String.init) ?? "")
    }
}

/// `dom0_nodes=PXM[,PXM…][,relaxed|strict]`: the NUMA nodes dom0's memory and vCPUs come from,
/// by the firmware's proximity-domain (PXM) numbers, not Xen's node ids.
public struct Dom0Nodes: Sendable, Equatable, CustomStringConvertible {
    /// `relaxed` makes the nodes a preference (soft affinity); `strict`, Xen's default, a rule.
    public enum Affinity: String, Sendable, CaseIterable { case relaxed, strict }

    /// Proximity domains, in order, without duplicates.
    public private(set) var domains: [UInt32] = []
    public var affinity: Affinity?

    /// Xen keeps at most this many (MAX_NUMNODES).
    public static let limit = 64

    /// Proximity domains as a spec lists them, with an optional affinity word.
    public init(domains: [UInt32], affinity: Affinity?) throws(Dom0Error) {
        for domain in domains where !self.domains.contains(domain) { self.domains.append(domain) }
        self.affinity = affinity
        try check(String(describing: self))
    }

    /// Parses the value after `dom0_nodes=`.
    public init(parsing value: String) throws(Dom0Error) {
        for element in value.split(separator: ",", omittingEmptySubsequences: false) {
            if let word = Affinity(rawValue: String(element)) {
                affinity = word
                continue
            }
            guard let domain = UInt32.parseDigits(element) else {
                throw Dom0Error(.usage, "\(BootKnob.dom0Nodes)=\(value): \(String(element).quotedForDisplay) is not a node",
                                at: "\(BootKnob.dom0Nodes)=\(value)", why: "elements are proximity-domain numbers (0, 1, …), relaxed or strict",
                                fix: "write the PXM numbers, as dom0_nodes=0 or dom0_nodes=0,1,relaxed")
            }
            if !domains.contains(domain) { domains.append(domain) }
        }
        try check(value)
    }

    private func check(_ value: String) throws(Dom0Error) {
        guard !domains.isEmpty else {
            throw Dom0Error(.usage, "\(BootKnob.dom0Nodes)=\(value) names no node", at: value.quotedForDisplay,
                            fix: "name at least one proximity domain, as dom0_nodes=0")
        }
        guard domains.count <= Self.limit else {
            throw Dom0Error(.usage, "\(BootKnob.dom0Nodes) names \(domains.count) nodes", at: value.quotedForDisplay,
                            why: "Xen reads at most \(Self.limit)", fix: "name the nodes dom0 should use")
        }
    }

    /// As Xen reads it: `0,1,relaxed`.
    public var description: String {
        (domains.map(String.init) + [affinity?.rawValue].compactMap { $0 }).joined(separator: ",")
    }
}

/// `sched-gran=`: what Xen's scheduler hands out as a unit. `core` or `socket` keep the vCPUs of
/// different guests off sibling threads (protecting guests from each other, not from dom0), and
/// then `smt` cannot be changed at runtime.
public enum SchedGranularity: String, Sendable, CaseIterable {
    case cpu, core, socket

    /// Parses `cpu`, `core` or `socket`; throws naming the value and the three.
    public init(parsing value: String) throws(Dom0Error) {
        guard let known = SchedGranularity(rawValue: value) else {
            throw Dom0Error(.usage, "\(BootKnob.schedGranularity)=\(value) is not a granularity", at: value.quotedForDisplay,
                            fix: "write one of " + Self.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = known
    }
}

/// dom0's CPUs as Xen's command line sets them (a host spec's `dom0` section and
/// `host-prepare boot dom0-cpus`): nil leaves an argument as configured.
public struct Dom0CPUSettings: Sendable, Equatable {
    public var vcpus: Dom0VCPUs?
    /// true sets `dom0_vcpus_pin`; false removes it.
    public var pin: Bool?
    public var nodes: Dom0Nodes?
    public var granularity: SchedGranularity?

    public init() {}

    public var isEmpty: Bool { self == Dom0CPUSettings() }

    /// The keys of Xen's line these settings decide.
    public var keys: Set<String> {
        Set([vcpus.map { _ in BootKnob.dom0MaxVCPUs }, pin.map { _ in BootKnob.dom0VCPUsPin },
             nodes.map { _ in BootKnob.dom0Nodes }, granularity.map { _ in BootKnob.schedGranularity }].compactMap { $0 })
    }

    /// The edits of Xen's line; a `set` replaces the argument, so XenServer's `dom0_max_vcpus=1-16`
    /// becomes the new value rather than a second one.
    public var edits: [BootEdit] {
        var edits: [BootEdit] = []
        if let vcpus { edits.append(.set(.dom0MaxVCPUs(vcpus))) }
        if let pin { edits.append(pin ? .set(.dom0VCPUsPin(nil)) : .delete(.xen, BootKnob.dom0VCPUsPin)) }
        if let nodes { edits.append(.set(.dom0Nodes(nodes))) }
        if let granularity { edits.append(.set(.schedGranularity(granularity))) }
        return edits
    }
}
