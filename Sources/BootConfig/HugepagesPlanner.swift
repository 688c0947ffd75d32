import Dom0Core
import Logging
import SystemPackage

/// Where each part of a hugepages request was given — a spec's `host.yaml:4: hugepages.nodes.1`,
/// or a command's `--nodes` — so a refusal about the host names what the user wrote.
public struct HugepagesSource: Sendable, Equatable {
    public enum Key: Sendable, Hashable { case section, size, node(UInt32), count }
    public struct Place: Sendable, Equatable {
        /// The key path ("hugepages.size") or option ("--size").
        public var name: String
        /// "host.yaml:3", or nil for an option.
        public var location: String?
        public init(_ name: String, at location: String? = nil) { self.name = name; self.location = location }
    }

    public var places: [Key: Place] = [:]
    public init(_ places: [Key: Place] = [:]) { self.places = places }

    /// The place of `key`, else of the section, else nothing.
    func place(_ key: Key) -> Place? { places[key] ?? places[.section] }

    /// A refusal about `key`: named as the user wrote it, with the host's evidence in why.
    func refusal(_ key: Key, _ what: String, evidence: String, why: String? = nil, fix: String) -> Dom0Error {
        guard let place = place(key) else { return Dom0Error(.refused, what, at: evidence, why: why, fix: fix) }
        return Dom0Error(.refused, "\(place.name): \(what)", at: place.location ?? evidence,
                         why: [why, place.location == nil ? nil : "from \(evidence)"].compactMap { $0 }.joined(separator: "; "),
                         fix: fix)
    }
}

/// How a reservation goes on this host: the kernel line's arguments (the per-node form where the
/// kernel that boots reads it, otherwise the even split of the largest node's count over every
/// node), whether the early unit must then make each node exact, and what could not be told.
public struct HugepagesLayout: Sendable, Equatable {
    public var edits: [BootEdit]
    public var needsUnit: Bool
    public var notes: [String]
}

/// Plans hugepages: the kernel line (through the boot section's editor, so one plan writes the
/// boot configuration), /etc/dom0kit/hugepages.conf, and the early unit where it is needed.
/// Refuses what the host cannot have before anything is written: a Xen dom0, a size the CPU does
/// not offer, a node the host lacks, a reservation that leaves the host too little memory.
public struct HugepagesPlanner: Sendable {
    /// What the host keeps for itself at least: 1 GiB, or a sixteenth of a larger host's memory.
    public static func hostReserve(memory: UInt64) -> UInt64 { max(1 << 30, memory / 16) }

    public var root: HostRoot
    public var runner: CommandRunner

    public init(root: HostRoot, runner: CommandRunner = CommandRunner()) {
        self.root = root
        self.runner = runner
    }

    public func layout(_ wanted: Hugepages, source: HugepagesSource = HugepagesSource(), configured: BootArguments) async throws(Dom0Error) -> HugepagesLayout {
        var notes: [String] = []
        let size = wanted.size
        if try HostFacts.isXenDom0(root) {
            throw source.refusal(.section, "hugepages on a Xen dom0", evidence: root.path.string,
                                 why: "a Xen PV dom0 has no hugetlbfs (Linux suppresses it in PV guests)",
                                 fix: "reserve hugepages on a native (KVM/VFIO) host; under Xen give guests memory with xl or XAPI")
        }
        // The kernel line holds one pool Dom0Kit manages: another size's pool, not Dom0Kit's, would be lost.
        let recorded = try Hugepages.load(root)?.size.rawValue
        for token in configured.values(of: "hugepagesz") where ![size.rawValue, recorded].contains(BootArguments.split(token).value) {
            throw source.refusal(.size, "the kernel line reserves another size of hugepages too", evidence: token,
                                 fix: "remove that pool's hugepagesz= and hugepages= first; Dom0Kit manages one pool")
        }
        if let flags = try HostFacts.cpuFlags(root) {
            guard flags.contains(size.cpuFlag) else {
                throw source.refusal(.size, "this CPU offers no \(size.rawValue) pages", evidence: "/proc/cpuinfo",
                                     why: "its flags lack \(size.cpuFlag)", fix: size == .oneGiB ? "use size 2M" : "check the CPU")
            }
        } else {
            notes.append("cannot tell whether the CPU offers \(size.rawValue) pages: no /proc/cpuinfo under \(root)")
        }

        let hostNodes = try HostFacts.numaNodes(root)
        if case .perNode(let nodes) = wanted.count {
            if let hostNodes {
                for node in nodes where !hostNodes.contains(node.node) {
                    throw source.refusal(.node(node.node), "this host has no NUMA node \(node.node)", evidence: "/sys/devices/system/node",
                                         why: "its nodes are \(hostNodes.map(String.init).joined(separator: ", "))", fix: "name the host's nodes")
                }
                for node in nodes {
                    guard let memory = try HostFacts.nodeMemory(root, node: node.node), size.bytes(node.pages) > memory else { continue }
                    throw source.refusal(.node(node.node), "node \(node.node) has \(memory >> 20) MiB, less than \(node.pages) \(size.rawValue) pages",
                                         evidence: "/sys/devices/system/node/node\(node.node)/meminfo", fix: "ask for fewer pages on that node")
                }
            } else {
                notes.append("cannot tell whether nodes \(nodes.map { String($0.node) }.joined(separator: ", ")) exist: no /sys/devices/system/node under \(root); the host's health says")
            }
        }

        // The form: per node where the kernel that boots reads it (1 GiB pages only ever at boot).
        let release = try HostFacts.bootKernelRelease(root)
        let perNodeForm = release.map(Hugepages.kernelReadsPerNodeForm) ?? false
        if release == nil {
            notes.append("cannot tell which kernel boots (no /boot/vmlinuz-*): the even split and the early unit, which every kernel takes")
        }
        let value: String, bootPages: UInt64, needsUnit: Bool
        switch wanted.count {
        case .total(let pages):
            (value, bootPages, needsUnit) = ("\(pages)", pages, false)
        case .perNode where perNodeForm:
            (value, bootPages, needsUnit) = (wanted.nodeList ?? "", wanted.totalPages, false)
        case .perNode(let nodes):
            guard size == .twoMiB else {
                throw source.refusal(.count, "Linux \(release ?? "of unknown version") reads no per-node hugepages= (5.16 does), and 1G pages cannot be had reliably after boot",
                                     evidence: "/boot", fix: "give a total for the kernel to split, or boot Linux 5.16 or later")
            }
            // Every node gets the largest count at boot; the unit frees the rest early.
            let count = UInt64(hostNodes?.count ?? Int((nodes.map(\.node).max() ?? 0) + 1))
            if hostNodes == nil { notes.append("the even split assumes \(count) nodes, as many as the spec names up to its last") }
            let largest = nodes.map(\.pages).max() ?? 0
            (value, bootPages, needsUnit) = ("\(largest * count)", largest * count, true)
        }

        if let memory = try await HostFacts.memory(root, runner: runner) {
            let reserve = Self.hostReserve(memory: memory), asked = size.bytes(bootPages)
            if asked > memory || memory - asked < reserve {
                throw source.refusal(.count, "\(bootPages) \(size.rawValue) pages at boot (\(asked >> 20) MiB) leave the host less than its \(reserve >> 20) MiB",
                                     evidence: "/proc/meminfo", why: "the host has \(memory >> 20) MiB; the kernel takes hugepages before anything else runs",
                                     fix: needsUnit ? "ask for fewer pages, or boot Linux 5.16 or later, which reserves them per node" : "ask for fewer pages")
            }
        } else {
            notes.append("cannot tell the host's memory: no /proc/meminfo under \(root)")
        }
        return HugepagesLayout(edits: [.set(.argument(.dom0, try BootArgument("hugepagesz=\(size.rawValue)"))),
                                       .set(.argument(.dom0, try BootArgument("hugepages=\(value)")))],
                               needsUnit: needsUnit, notes: notes)
    }

    /// The configuration file and, where the layout needs it, the early unit enabled.
    public func plan(_ wanted: Hugepages, layout: HugepagesLayout) async throws(Dom0Error) -> Plan {
        var plan = Plan()
        plan.add(try Change.file(Hugepages.path, content: Array(wanted.fileText.utf8), in: root, part: .hugepages,
                                 summary: "hugepages (\(wanted.summary))"))
        if layout.needsUnit {
            plan.changes += try await UnitEnabling.plan(Hugepages.unit, root: root, runner: runner, part: .hugepages,
                                                        fix: "install Dom0Kit's units (installer/install.sh): this kernel line cannot say "
                                                            + "the count per node, so the unit makes each node exact at boot")
        }
        return plan
    }
}

/// Each node's reservation as the kernel holds it, and writing it: `host-prepare hugepages apply`,
/// which host-prepare-hugepages.service runs early at boot.
public struct HugepagesSetter: Sendable {
    static let logger = Logger(label: "dom0kit.hugepages")

    public var root: HostRoot
    public var sysfs: any SysfsWriter

    public init(root: HostRoot, sysfs: any SysfsWriter = KernelSysfs()) {
        self.root = root
        self.sysfs = sysfs
    }

    /// A node's count file.
    public static func nodeAttribute(_ node: UInt32, _ size: HugepageSize) -> FilePath {
        FilePath("/sys/devices/system/node/node\(node)/hugepages/\(size.pool)/nr_hugepages")
    }

    /// The pool's count over all nodes.
    public static func poolAttribute(_ size: HugepageSize) -> FilePath { FilePath("/sys/kernel/mm/hugepages/\(size.pool)/nr_hugepages") }

    /// Pages of `size` each node holds now; nil for a node without the attribute.
    public func reserved(_ size: HugepageSize, on node: UInt32) throws(Dom0Error) -> UInt64? {
        try root.readText(Self.nodeAttribute(node, size)).flatMap { UInt64.parseDigits($0.trimmingWhitespace) }
    }

    public func reservedInPool(_ size: HugepageSize) throws(Dom0Error) -> UInt64? {
        try root.readText(Self.poolAttribute(size)).flatMap { UInt64.parseDigits($0.trimmingWhitespace) }
    }

    /// One node's request against what it holds.
    public struct NodeState: Sendable, Encodable {
        public var node: UInt32?
        public var requested: UInt64
        public var reserved: UInt64

        /// "node 1", or "all nodes" for a total.
        public var label: String { node.map { "node \($0)" } ?? "all nodes" }

        public init(node: UInt32?, requested: UInt64, reserved: UInt64) {
            self.node = node
            self.requested = requested
            self.reserved = reserved
        }
    }

    /// Writes each node's count (or the pool's total), reads them back, and refuses a shortfall,
    /// naming each node short.
    public func apply(_ wanted: Hugepages) throws(Dom0Error) -> [NodeState] {
        var states: [NodeState] = []
        switch wanted.count {
        case .perNode(let nodes):
            for node in nodes {
                let attribute = Self.nodeAttribute(node.node, wanted.size)
                guard try root.exists(attribute) else {
                    throw Dom0Error(.failed, "this host has no NUMA node \(node.node) with \(wanted.size.rawValue) pages", at: attribute.string,
                                    fix: "name the host's nodes in \(Hugepages.path)")
                }
                if try reserved(wanted.size, on: node.node) != node.pages { try sysfs.write("\(node.pages)", to: attribute, in: root) }
                states.append(NodeState(node: node.node, requested: node.pages, reserved: try reserved(wanted.size, on: node.node) ?? 0))
            }
        case .total(let pages):
            if try reservedInPool(wanted.size) != pages { try sysfs.write("\(pages)", to: Self.poolAttribute(wanted.size), in: root) }
            states.append(NodeState(node: nil, requested: pages, reserved: try reservedInPool(wanted.size) ?? 0))
        }
        let short = states.filter { $0.reserved < $0.requested }
        Self.logger.notice("hugepages: \(states.map { "\($0.label) \($0.reserved) of \($0.requested)" }.joined(separator: ", "))",
                           metadata: ["MESSAGE_ID": "\(MessageID.hugepages)", "size": "\(wanted.size.rawValue)",
                                      "short": "\(short.reduce(0) { $0 + $1.requested - $1.reserved })"])
        if !short.isEmpty {
            throw Dom0Error(.failed, "the kernel reserved fewer \(wanted.size.rawValue) pages than asked",
                            why: short.map { "\($0.label): " + Self.shortfall($0, wanted.size) }.joined(separator: "; "),
                            fix: "memory was in use or fragmented: reserve them at boot (host-prepare apply puts them on the kernel line), or ask for fewer")
        }
        return states
    }

    /// "460 of 480 2M pages, 20 short (40 MiB)".
    public static func shortfall(_ state: NodeState, _ size: HugepageSize) -> String {
        let missing = state.requested - state.reserved
        return "\(state.reserved) of \(state.requested) \(size.rawValue) pages, \(missing) short (\(size.mebibytes(missing)) MiB)"
    }
}
