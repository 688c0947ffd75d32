import ArgumentParser
import BootConfig
import Dom0Core
import HostSpec

/// `host-prepare hugepages`: a native host's hugepages, per NUMA node.
struct HugepagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hugepages",
        abstract: "Reserve hugepages for a native (KVM/VFIO) host's guests, per NUMA node.",
        discussion: """
            Pages reserved on the kernel line come before memory fragments; the kernel splits a plain \
            hugepages=N evenly over the nodes, so a guest on node 0 would leave half of them idle:

              host-prepare hugepages set --nodes 0:6200,1:0   6200 pages on node 0 only
              host-prepare hugepages set --total 12400        the kernel's even split
              host-prepare hugepages apply                    counts now, as the unit does

            set writes hugepagesz= and hugepages= on the kernel line (the per-node form, 0:6200,1:0, \
            where the kernel that boots reads it: Linux 5.16 and later; otherwise the largest count on \
            every node, which \(Hugepages.unit) trims early at boot) and \(Hugepages.path), which \
            health judges each node against. 1G pages are only ever reserved on the kernel line.

            Refused before anything is written: a Xen dom0 (its PV kernel has no hugetlbfs), a size \
            the CPU does not offer, a node the host lacks, pages that would leave the host less than \
            1 GiB (or a sixteenth of its memory). A host spec's hugepages section does the same as set.
            """,
        subcommands: [HugepagesSet.self, HugepagesApply.self])
}

struct HugepagesSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Reserve hugepages at every boot: the kernel line, the record, the early unit where needed.",
        discussion: "The boot configuration is found as host-prepare boot finds it (Debian's /etc/default/grub). "
            + "The new reservation comes at the next boot.")

    @OptionGroup var host: HostOptions
    @Option(help: ArgumentHelp("The page size: 2M or 1G.", valueName: "SIZE")) var size = "2M"
    @Option(help: ArgumentHelp("Pages per NUMA node, as the kernel takes them.", valueName: "NODE:PAGES,…")) var nodes: String?
    @Option(help: ArgumentHelp("Pages in all, for the kernel to split evenly.", valueName: "PAGES")) var total: UInt64?
    @Flag(name: .customLong("dry-run"), help: "Show what would change; change nothing.") var dryRun = false

    func validate() throws {
        if (nodes == nil) == (total == nil) { throw ValidationError("give exactly one of --nodes NODE:PAGES,… and --total PAGES") }
    }

    func run() async throws {
        guard let pageSize = HugepageSize(rawValue: size) else {
            throw Dom0Error(.usage, "\(size.quotedForDisplay) is not a hugepage size", at: "--size", fix: "give 2M or 1G")
        }
        let count: Hugepages.Count
        if let nodes { count = .perNode(try Hugepages.nodes(parsing: nodes, at: "--nodes")) } else {
            guard let total, total < Hugepages.pageLimit else { throw Dom0Error(.usage, "too many pages", at: "--total", fix: "count pages, not bytes") }
            count = .total(total)
        }
        var spec = HostSpec()
        spec.hugepages = Hugepages(size: pageSize, count: count)
        let counted = HugepagesSource.Place(nodes == nil ? "--total" : "--nodes")
        spec.hugepagesSource = HugepagesSource([.section: counted, .size: HugepagesSource.Place("--size"), .count: counted])
        let planned = try await HostPlanner(root: try host.hostRoot(), runner: CommandRunner(dryRun: dryRun)).plan(spec)
        let plan = planned.plan
        try await host.carryOut(plan, report: nil, shownPlan: planned, dryRun: dryRun) { applied in
            if plan.isEmpty { return "Hugepages are configured as asked: nothing to do\n" }
            return dryRun ? planned.text : (applied?.text ?? "") + "The reservation comes at the next boot.\n"
        }
    }
}

struct HugepagesApply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Write each node's configured hugepages now, and say which came short.",
        discussion: "Reads \(Hugepages.path) and writes each node's nr_hugepages (for a total, the pool's); "
            + "does nothing where a node already holds its count. Run by \(Hugepages.unit) early at boot. "
            + "Exit status: 0 reserved, 1 the kernel reserved fewer than asked (each node short is named) or failed, "
            + "64 no configuration.")

    @OptionGroup var host: HostOptions

    func run() async throws {
        guard host.root == nil || host.root == "/" else {
            throw Dom0Error(.usage, "apply writes the running kernel's hugepages: it takes no --root", fix: "run it on the host")
        }
        guard let wanted = try Hugepages.load(.system) else {
            throw Dom0Error(.usage, "no hugepages are configured", at: Hugepages.path.string,
                            fix: "host-prepare hugepages set --nodes 0:6200,1:0 writes it")
        }
        let states = try HugepagesSetter(root: .system).apply(wanted)
        let text = states.map { "\($0.label): \($0.reserved) \(wanted.size.rawValue) pages, as configured\n" }.joined()
        try host.show(report: states, text: text)
    }
}
