import Dom0Core
import SystemPackage

/// A hugepage size the x86 kernel offers, by the CPU flag that offers it.
public enum HugepageSize: String, Sendable, CaseIterable, Encodable {
    case twoMiB = "2M"
    case oneGiB = "1G"

    public var kibibytes: UInt64 { self == .twoMiB ? 2048 : 1 << 20 }
    /// /proc/cpuinfo's flag for pages of this size.
    public var cpuFlag: String { self == .twoMiB ? "pse" : "pdpe1gb" }
    /// The pool's directory under /sys/kernel/mm/hugepages and each node's hugepages/.
    public var pool: String { "hugepages-\(kibibytes)kB" }

    /// So many pages in bytes, saturating: a count read from a hostile tree never traps.
    public func bytes(_ pages: UInt64) -> UInt64 {
        let (product, overflow) = pages.multipliedReportingOverflow(by: kibibytes << 10)
        return overflow ? .max : product
    }

    /// So many pages in MiB, saturating.
    public func mebibytes(_ pages: UInt64) -> UInt64 { bytes(pages) >> 20 }
}

/// Hugepages reserved for a native (KVM/VFIO) host's guests: so many per NUMA node, or a total
/// the kernel splits evenly over the nodes. Kept in /etc/dom0kit/hugepages.conf, which health
/// judges the host against and `host-prepare hugepages apply` (host-prepare-hugepages.service,
/// early at boot, where the kernel line cannot say it per node) writes to each node.
///
/// A Xen PV dom0 has no hugetlbfs (Linux "x86/mm/xen: Suppress hugetlbfs in PV guests"): this is
/// refused there.
public struct Hugepages: Sendable, Equatable, Encodable {
    public static let path: FilePath = "/etc/dom0kit/hugepages.conf"
    public static let unit = "host-prepare-hugepages.service"
    /// Linux reads `hugepages=NODE:COUNT,…` from 5.16 (commit b5389086ad7b).
    public static func kernelReadsPerNodeForm(_ release: String) -> Bool {
        !HostFacts.kernelVersion(release).lexicographicallyPrecedes([5, 16])
    }
    /// NUMA node numbers Linux can have (MAX_NUMNODES with NODES_SHIFT 10).
    public static let nodeRange: ClosedRange<UInt32> = 0...1023
    /// A bound on any count, far above any host's memory, so sizes never overflow.
    public static let pageLimit: UInt64 = 1 << 32

    /// Pages on one node.
    public struct NodePages: Sendable, Equatable, Encodable {
        public var node: UInt32
        public var pages: UInt64

        public init(node: UInt32, pages: UInt64) { self.node = node; self.pages = pages }
    }

    public enum Count: Sendable, Equatable {
        /// Node by node, in node order.
        case perNode([NodePages])
        /// A total, split by the kernel over the nodes with memory.
        case total(UInt64)
    }

    public var size: HugepageSize
    public var count: Count

    public init(size: HugepageSize, count: Count) { self.size = size; self.count = count }

    /// Pages over all nodes.
    public var totalPages: UInt64 {
        switch count {
        case .perNode(let nodes): nodes.reduce(0) { $0 + $1.pages }
        case .total(let pages): pages
        }
    }

    /// "200 2M pages on node 0, 0 on node 1", "12400 2M pages".
    public var summary: String {
        switch count {
        case .perNode(let nodes):
            return nodes.enumerated().map { index, node in
                index == 0 ? "\(node.pages) \(size.rawValue) pages on node \(node.node)" : "\(node.pages) on node \(node.node)"
            }.joined(separator: ", ")
        case .total(let pages): return "\(pages) \(size.rawValue) pages over the nodes"
        }
    }

    /// The kernel's per-node form, "0:6200,1:0".
    public var nodeList: String? {
        guard case .perNode(let nodes) = count else { return nil }
        return nodes.map { "\($0.node):\($0.pages)" }.joined(separator: ",")
    }

    /// Parses the kernel's per-node form; errors say what is wrong, the caller where.
    public static func nodes(parsing text: some StringProtocol, at location: String? = nil) throws(Dom0Error) -> [NodePages] {
        let fix = "as 0:6200,1:0: each NUMA node's number and its page count"
        var nodes: [NodePages] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let node = UInt32.parseDigits(parts[0]), let pages = UInt64.parseDigits(parts[1]) else {
                throw Dom0Error(.usage, "\(String(item).quotedForDisplay) is not NODE:PAGES", at: location, fix: fix)
            }
            nodes.append(try nodePages(node: node, pages: pages, at: location))
        }
        return try checked(nodes, at: location)
    }

    /// One node's count, in range.
    public static func nodePages(node: UInt32, pages: UInt64, at location: String?) throws(Dom0Error) -> NodePages {
        guard nodeRange.contains(node) else {
            throw Dom0Error(.usage, "NUMA node \(node) is beyond Linux's \(nodeRange.upperBound)", at: location, fix: "name the host's nodes (ls /sys/devices/system/node)")
        }
        guard pages < pageLimit else { throw Dom0Error(.usage, "\(pages) pages is more than any host has", at: location, fix: "count pages, not bytes") }
        return NodePages(node: node, pages: pages)
    }

    /// Nodes sorted, each once, at least one.
    public static func checked(_ nodes: [NodePages], at location: String?) throws(Dom0Error) -> [NodePages] {
        guard !nodes.isEmpty else { throw Dom0Error(.usage, "no NUMA node named", at: location, fix: "as 0:6200,1:0") }
        let sorted = nodes.sorted { $0.node < $1.node }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.node == b.node {
            throw Dom0Error(.usage, "NUMA node \(a.node) is named twice", at: location, fix: "give each node once")
        }
        return sorted
    }

    // MARK: The configuration file

    public static func load(_ root: HostRoot) throws(Dom0Error) -> Hugepages? {
        guard let text = try root.readText(path) else { return nil }
        return try parse(text, file: path.string)
    }

    /// `Size=2M` and either `Nodes=0:6200,1:0` or `Total=12400` (comments with #); errors name the
    /// file and line.
    public static func parse(_ text: String, file: String) throws(Dom0Error) -> Hugepages {
        let fix = "the file holds Size=2M|1G and Nodes=NODE:PAGES,… or Total=PAGES; host-prepare hugepages set writes it"
        var size: HugepageSize?, count: Count?
        for line in try KeyValueLine.lines(of: text, file: file, fix: fix) {
            let (key, value, location) = (line.key, line.value, line.location)
            switch key {
            case "Size":
                guard let parsed = HugepageSize(rawValue: String(value)) else {
                    throw Dom0Error(.usage, "Size=\(value.quotedForDisplay) is not 2M or 1G", at: location, fix: fix)
                }
                size = parsed
            case "Nodes", "Total":
                guard count == nil else { throw Dom0Error(.usage, "give Nodes= or Total= once", at: location, fix: fix) }
                if key == "Nodes" {
                    count = .perNode(try nodes(parsing: value, at: location))
                } else {
                    guard let pages = UInt64.parseDigits(value), pages < pageLimit else {
                        throw Dom0Error(.usage, "Total=\(value.quotedForDisplay) is not a page count", at: location, fix: fix)
                    }
                    count = .total(pages)
                }
            default:
                throw Dom0Error(.usage, "unknown key \(key.quotedForDisplay)", at: location, fix: fix)
            }
        }
        guard let size, let count else { throw Dom0Error(.usage, "Size= and Nodes= or Total= are both needed", at: file, fix: fix) }
        return Hugepages(size: size, count: count)
    }

    public var fileText: String {
        let pages = nodeList.map { "Nodes=\($0)" } ?? "Total=\(totalPages)"
        return "# Hugepages for guests: health judges the host against this, and " + Self.unit + "\n"
            + "# writes each node's count early at boot where the kernel line cannot (host-prepare hugepages apply).\n"
            + "# Written by host-prepare hugepages set or a host spec's hugepages section.\n"
            + "Size=\(size.rawValue)\n\(pages)\n"
    }

    private enum Key: String, CodingKey { case size, nodes, total }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(size, forKey: .size)
        switch count {
        case .perNode(let nodes): try container.encode(nodes, forKey: .nodes)
        case .total(let pages): try container.encode(pages, forKey: .total)
        }
    }
}
