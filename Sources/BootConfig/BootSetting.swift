import Dom0Core
import PCIDevices

/// One boot argument to set, in its type: parsed once where it entered (an xen-cmdline argument,
/// a spec's key or argument list, a host-prepare boot option) and rendered once, by the editor.
/// A typo in a knob's value is what leaves pciback or dom0 broken at the next boot, so a knob's
/// argument is its type or nothing; any other argument is one checked token.
public enum BootSetting: Sendable, Equatable {
    /// `xen-pciback.hide=` on dom0's line (patterns written as the functions they match).
    case hide(HideList)
    /// `vfio-pci.ids=` on a native kernel's line.
    case vfioIDs(VFIOIDs)
    /// Xen's `iommu=`.
    case xenIOMMU(XenIOMMU)
    /// Xen's `dom0_mem=`.
    case dom0Memory(Dom0Memory)
    /// Xen's `dom0_max_vcpus=`.
    case dom0MaxVCPUs(Dom0VCPUs)
    /// Xen's `dom0_vcpus_pin`, or `dom0_vcpus_pin=WORD` with one of Xen's boolean words.
    case dom0VCPUsPin(String?)
    /// Xen's `dom0_nodes=`.
    case dom0Nodes(Dom0Nodes)
    /// Xen's `sched-gran=`.
    case schedGranularity(SchedGranularity)
    /// One of Xen's `cpuid_mask_*=0x…`.
    case cpuidMask(CPUIDMask)
    /// Any other argument of either line (a knob's too, with --force): one token with a key.
    case argument(BootLine, BootArgument)

    /// Parses `argument` for `line`. A knob's argument becomes its type and is refused when its
    /// value is not one; with `force`, every argument is taken as a plain token (still one token
    /// with a key: what reaches the file must parse as the line it joins).
    public init(parsing argument: String, on line: BootLine, force: Bool = false) throws(Dom0Error) {
        let plain = try BootArgument(argument)
        guard !force else {
            self = .argument(line, plain)
            return
        }
        let (key, value) = BootArguments.split(argument)
        func need() throws(Dom0Error) -> String {
            guard let value, !value.isEmpty else {
                throw Dom0Error(.usage, "\(key) needs a value", at: argument.quotedForDisplay, fix: "write \(key)=VALUE")
            }
            return value
        }
        switch (key, line) {
        case (BootKnob.hide, .dom0): self = .hide(try HideList(parsing: need()))
        case (BootKnob.vfioIDs, .dom0): self = .vfioIDs(try VFIOIDs(parsing: need()))
        case (BootKnob.iommu, .xen): self = .xenIOMMU(try XenIOMMU(parsing: need()))
        case (BootKnob.dom0Memory, .xen): self = .dom0Memory(try Dom0Memory(parsing: need()))
        case (BootKnob.dom0MaxVCPUs, .xen): self = .dom0MaxVCPUs(try Dom0VCPUs(parsing: need()))
        case (BootKnob.dom0Nodes, .xen): self = .dom0Nodes(try Dom0Nodes(parsing: need()))
        case (BootKnob.schedGranularity, .xen): self = .schedGranularity(try SchedGranularity(parsing: need()))
        case (BootKnob.dom0VCPUsPin, .xen):
            guard let value else {
                self = .dom0VCPUsPin(nil)
                return
            }
            guard XenBoolean.words.contains(value) else {
                throw Dom0Error(.usage, "\(key)=\(value) is not a boolean", at: argument.quotedForDisplay,
                                fix: "write \(key) alone (or \(key)=0 to say no)")
            }
            self = .dom0VCPUsPin(value)
        case (_, .xen) where key.hasPrefix(CPUIDMask.prefix): self = .cpuidMask(try CPUIDMask(parsing: argument))
        default: self = .argument(line, plain)
        }
    }

    /// The line it goes on.
    public var line: BootLine {
        switch self {
        case .hide, .vfioIDs: .dom0
        case .xenIOMMU, .dom0Memory, .dom0MaxVCPUs, .dom0VCPUsPin, .dom0Nodes, .schedGranularity, .cpuidMask: .xen
        case .argument(let line, _): line
        }
    }

    /// The argument as written on the line; a hide list's patterns become the functions they
    /// match on `bus` (XAPI reads only full entries), refused when one matches none.
    public func argument(on bus: PCIBus?) throws(Dom0Error) -> String {
        switch self {
        case .hide(let list): "\(BootKnob.hide)=\(try bus.map { bus throws(Dom0Error) in try list.expandingPatterns(on: bus) } ?? list)"
        case .vfioIDs(let ids): "\(BootKnob.vfioIDs)=\(ids)"
        case .xenIOMMU(let iommu): "\(BootKnob.iommu)=\(iommu)"
        case .dom0Memory(let memory): "\(BootKnob.dom0Memory)=\(memory)"
        case .dom0MaxVCPUs(let vcpus): "\(BootKnob.dom0MaxVCPUs)=\(vcpus)"
        case .dom0VCPUsPin(let word): word.map { "\(BootKnob.dom0VCPUsPin)=\($0)" } ?? BootKnob.dom0VCPUsPin
        case .dom0Nodes(let nodes): "\(BootKnob.dom0Nodes)=\(nodes)"
        case .schedGranularity(let granularity): "\(BootKnob.schedGranularity)=\(granularity.rawValue)"
        case .cpuidMask(let mask): mask.description
        case .argument(_, let argument): argument.text
        }
    }
}

/// One boot argument Dom0Kit has no type for: checked to be one token (as GRUB and the kernel
/// split the line) with a key, so that what joins a line cannot break it.
public struct BootArgument: Sendable, Equatable, CustomStringConvertible {
    /// The token.
    public let text: String

    public init(_ text: String) throws(Dom0Error) {
        try BootArguments.checkOne(text)
        guard !BootArguments.key(of: text).isEmpty else {
            throw Dom0Error(.usage, "an argument needs a key", at: text.quotedForDisplay, fix: "write KEY or KEY=VALUE")
        }
        self.text = text
    }

    public var description: String { text }
}

/// One of Xen's CPU feature masks, `cpuid_mask_ecx=0xffffffff`: a named 32-bit mask, as Xen's
/// `cpuid_mask_*` options take it.
public struct CPUIDMask: Sendable, Equatable, CustomStringConvertible {
    /// The keys' common prefix.
    public static let prefix = "cpuid_mask_"

    /// The key, `cpuid_mask_ecx`.
    public let key: String
    /// The value as written, `0xffffffff`.
    public let value: String

    /// Parses `cpuid_mask_NAME=0xhhhhhhhh` (1 to 8 hex digits).
    public init(parsing argument: String) throws(Dom0Error) {
        let (key, value) = BootArguments.split(argument)
        try Self.checkKey(key, in: argument)
        guard let value, value.hasPrefix("0x"), (3...10).contains(value.unicodeScalars.count),
              value.unicodeScalars.dropFirst(2).allSatisfy({ $0.properties.isASCIIHexDigit }) else {
            throw Dom0Error(.usage, "malformed cpuid mask", at: argument.quotedForDisplay, fix: "write \(Self.prefix)NAME=0xhhhhhhhh")
        }
        self.key = key
        self.value = value
    }

    /// Refuses a key that names no mask (`cpuid_mask_` alone, or another key).
    public static func checkKey(_ key: String, in argument: String) throws(Dom0Error) {
        guard key.hasPrefix(prefix), key.count > prefix.count else {
            throw Dom0Error(.usage, "not a cpuid mask", at: argument.quotedForDisplay, fix: "masks are named \(prefix)*, as \(prefix)ecx")
        }
    }

    public var description: String { "\(key)=\(value)" }
}
