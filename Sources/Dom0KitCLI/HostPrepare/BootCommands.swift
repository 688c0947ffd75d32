import ArgumentParser
import BootConfig
import Dom0Core
import PCIDevices

/// `host-prepare boot`: the typed knobs over xen-cmdline's library.
struct BootCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Hide devices, set IOMMU, dom0's memory and CPUs on the boot command line.",
        discussion: """
            The same engine as xen-cmdline (XenServer grub.cfg or Debian /etc/default/grub, the same \
            --style, --config, --entry, --dry-run and --json), with values checked and written in their \
            canonical form. Changes take effect at the next boot; `status` says whether one is needed.
            """,
        subcommands: [HideCommand.self, IOMMUCommand.self, Dom0MemCommand.self, Dom0CPUsCommand.self, VFIOCommand.self,
                      StatusCommand.self])
}

/// Runs knob edits through the boot engine and shows the outcome.
private func runEdits(_ host: HostOptions, _ boot: BootOptions, warnings: [String] = [],
                      _ makeEdits: (BootEditor) async throws(Dom0Error) -> [BootEdit]) async throws {
    let editor = try boot.editor(host)
    var report = try await editor.plan(try await makeEdits(editor))
    report.warnings += warnings
    try await BootOutput.finish(report, host: host, boot: boot, tool: "host-prepare boot")
}

/// The add / remove / list actions of a list-valued knob.
enum ListAction: String, ExpressibleByArgument, CaseIterable {
    case add, remove, list

    /// add and remove need items; list takes none.
    func validate(_ items: [String], knob: String, noun: String) throws {
        if self != .list && items.isEmpty { throw ValidationError("\(knob) \(rawValue) needs \(noun)") }
        if self == .list && !items.isEmpty { throw ValidationError("\(knob) list takes no \(noun)") }
    }

    /// Lists the items, or turns add/remove of the (already parsed) items into edits and carries them out.
    func run<Items>(_ items: Items, none: Items, host: HostOptions, boot: BootOptions,
                    list: (BootEditor) async throws(Dom0Error) -> [String],
                    edit: (_ add: Items, _ remove: Items, BootEditor) async throws(Dom0Error) -> [BootEdit]) async throws {
        guard self != .list else {
            let listed = try await list(try boot.editor(host))
            try host.show(report: listed, text: listed.map { "\($0)\n" }.joined())
            return
        }
        try await runEdits(host, boot) { editor throws(Dom0Error) in
            try await edit(self == .add ? items : none, self == .remove ? items : none, editor)
        }
    }
}

struct HideCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hide",
        abstract: "Add, remove or list the devices xen-pciback.hide keeps from dom0.",
        discussion: """
            Addresses are dddd:bb:dd.f or bb:dd.f (written as 0000:bb:dd.f); lower-case, deduplicated, \
            order kept. A pattern with * for the function, or for slot and function, is written as the \
            functions it covers on this host: XAPI reads only full (dddd:bb:dd.f) entries.

              host-prepare boot hide add 0000:01:00.0 01:00.1
              host-prepare boot hide remove 01:00.1
              host-prepare boot hide list
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var boot: BootOptions
    @Argument(help: "add, remove or list.") var action: ListAction
    @Argument(help: "PCI addresses.") var addresses: [String] = []

    func validate() throws { try action.validate(addresses, knob: "hide", noun: "PCI addresses") }

    func run() async throws {
        try await action.run(try HideList(addresses: addresses), none: HideList(), host: host, boot: boot,
                             list: { editor throws(Dom0Error) in try await BootKnobs.hidden(editor).slots.map(\.description) },
                             edit: { add, remove, editor throws(Dom0Error) in try await BootKnobs.hide(add: add, remove: remove, editor) })
    }
}

struct VFIOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vfio",
        abstract: "Add, remove or list the ids vfio-pci claims at boot (vfio-pci.ids, KVM hosts).",
        discussion: "Ids are vvvv:dddd (optionally :svvv:sddd and :class:mask), as in 10de:1c81.")

    @OptionGroup var host: HostOptions
    @OptionGroup var boot: BootOptions
    @Argument(help: "add, remove or list.") var action: ListAction
    @Argument(help: "vendor:device ids.") var ids: [String] = []

    func validate() throws { try action.validate(ids, knob: "vfio", noun: "ids") }

    func run() async throws {
        try await action.run(try VFIOIDs(ids), none: VFIOIDs(), host: host, boot: boot,
                             list: { editor throws(Dom0Error) in try await BootKnobs.vfioIDs(editor).ids },
                             edit: { add, remove, editor throws(Dom0Error) in try await BootKnobs.vfio(add: add, remove: remove, editor) })
    }
}

struct IOMMUCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iommu",
        abstract: "Set the IOMMU: Xen's iommu= list, or a native kernel's intel_iommu/amd_iommu.",
        discussion: """
              host-prepare boot iommu --xen force,intremap     Xen's iommu= (its documented sub-options)
              host-prepare boot iommu --native --passthrough   by CPU vendor (intel_iommu=on; on AMD, no amd_iommu=off), iommu=pt
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var boot: BootOptions
    @Option(help: ArgumentHelp("Xen's iommu= value.", valueName: "LIST")) var xen: String?
    @Flag(help: "Configure a native (KVM) kernel instead of Xen.") var native = false
    @Option(help: ArgumentHelp("intel or amd, instead of /proc/cpuinfo's vendor (with --native).", valueName: "VENDOR"))
    var vendor: String?
    @Flag(help: "Add iommu=pt (with --native).") var passthrough = false

    func validate() throws {
        if (xen != nil) == native { throw ValidationError("give exactly one of --xen LIST and --native") }
        if !native && (vendor != nil || passthrough) { throw ValidationError("--vendor and --passthrough go with --native") }
    }

    func run() async throws {
        try await runEdits(host, boot) { editor throws(Dom0Error) in
            if let xen { return BootKnobs.xenIOMMU(try XenIOMMU(parsing: xen)) }
            return try BootKnobs.nativeIOMMU(vendor: vendor, passthrough: passthrough, editor)
        }
    }
}

struct Dom0MemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dom0-mem",
        abstract: "Set dom0's memory: dom0_mem=SIZE[,max:SIZE].",
        discussion: "Sizes take K, M, G or T (as 4096M or 4G); the amount may not exceed the maximum. "
            + "A warning says when either is more than the host has.")

    @OptionGroup var host: HostOptions
    @OptionGroup var boot: BootOptions
    // Taken as given, so that "-1" is a size to refuse as such, not an unknown option.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("dom0's memory at boot.", valueName: "size")) var sizes: [String] = []
    @Option(parsing: .unconditional, help: ArgumentHelp("The most dom0 may balloon to.", valueName: "SIZE")) var max: String?

    var size: String { sizes.first ?? "" }

    func validate() throws {
        guard sizes.count == 1 else {
            throw ValidationError(sizes.isEmpty ? "dom0-mem needs dom0's memory, as 4096M or 4G"
                                  : "dom0-mem takes one size, not \(sizes.count): \(sizes.joined(separator: " "))")
        }
    }

    func run() async throws {
        let editor = try boot.editor(host)
        let (edits, warnings) = try await BootKnobs.dom0Memory(try Dom0Memory(amount: size, maximum: max), editor)
        try await runEdits(host, boot, warnings: warnings) { _ throws(Dom0Error) in edits }
    }
}

struct Dom0CPUsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dom0-cpus",
        abstract: "Set dom0's vCPUs, their pinning and NUMA nodes, and the scheduler's granularity on Xen's line.",
        discussion: """
            Each option given replaces its argument (XenServer's dom0_max_vcpus=1-16 becomes the new \
            value, never a second one); options not given leave theirs as they are.

              host-prepare boot dom0-cpus --vcpus 4 --pin
              host-prepare boot dom0-cpus --vcpus 2-8 --nodes 0,relaxed --sched-gran core

            Xen gives dom0 one vCPU per CPU it may run on (all, or those of --nodes), clamped into \
            MIN-MAX. --nodes takes the firmware's proximity-domain (PXM) numbers, not Xen's node ids; \
            add relaxed to make them a preference. --sched-gran core or socket keeps different guests \
            off sibling threads — it protects guests from each other, not from dom0 — and then smt \
            cannot be changed at runtime (XAPI: host.set_sched_gran).

            Domain-0's scheduler weight is not a boot argument: host-prepare dom0-sched sets it at \
            every boot.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var boot: BootOptions
    @Option(help: ArgumentHelp("dom0_max_vcpus: N, or MIN-MAX.", valueName: "N|MIN-MAX")) var vcpus: String?
    @Flag(inversion: .prefixedNo, help: "Pin vCPU n to CPU n (dom0_vcpus_pin); --no-pin removes it.") var pin: Bool?
    @Option(help: ArgumentHelp("dom0_nodes: proximity domains, with relaxed or strict.", valueName: "PXM[,PXM…][,relaxed]"))
    var nodes: String?
    @Option(name: .customLong("sched-gran"), help: ArgumentHelp("sched-gran: cpu, core or socket.", valueName: "GRANULARITY"))
    var granularity: String?

    func validate() throws {
        if vcpus == nil && pin == nil && nodes == nil && granularity == nil {
            throw ValidationError("dom0-cpus needs at least one of --vcpus, --pin/--no-pin, --nodes, --sched-gran")
        }
    }

    func run() async throws {
        var settings = Dom0CPUSettings()
        settings.vcpus = try vcpus.map { value throws(Dom0Error) in try Dom0VCPUs(parsing: value) }
        settings.pin = pin
        settings.nodes = try nodes.map { value throws(Dom0Error) in try Dom0Nodes(parsing: value) }
        settings.granularity = try granularity.map { value throws(Dom0Error) in try SchedGranularity(parsing: value) }
        try await runEdits(host, boot) { _ throws(Dom0Error) in settings.edits }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Compare the configured boot arguments with the running ones: is a reboot needed?",
        discussion: "dom0's running arguments come from /proc/cmdline, Xen's from `xl info` (on this machine only). "
            + "Each device in the configured or running xen-pciback.hide gets dom0's access to it in XAPI's words "
            + "(PCI.get_dom0_access_status): enabled, disable_on_reboot, disabled, enable_on_reboot. "
            + "Exit status 0 either way; the answer is in the output.")

    @OptionGroup var host: HostOptions
    @OptionGroup var boot: BootOptions

    func run() async throws {
        let status = try await BootStatus.read(try boot.editor(host))
        try host.show(status)
    }
}
