import BootConfig
import ControlSlice
import DiskLayout
import Dom0Core
import PCIDevices
import SuppPack
import SystemPackage

/// One module's part of a host plan.
public struct HostPlanSection: Sendable, Encodable {
    /// disk, packs, boot, control-slice, agent or devices.
    public var module: String
    public var plan: Plan
    /// What people should know: a pack already installed, dom0_mem above the host's memory.
    public var notes: [String] = []
}

/// Every module's changes for a spec, in the safe order: disk → packs → boot → control slice →
/// the agent's configuration and unit → binding the hidden devices now.
public struct HostPlan: Sendable, Encodable {
    public var sections: [HostPlanSection]
    /// Pack staging directories, removed once the plan is applied or dropped.
    public var staging: [FilePath] = []

    /// All changes, in order.
    public var plan: Plan { Plan(sections.flatMap(\.plan.changes)) }
    public var isEmpty: Bool { sections.allSatisfy(\.plan.isEmpty) }
    /// Whether applying it changes what only a reboot brings in (the boot command lines).
    public var needsReboot: Bool { sections.contains { $0.module == "boot" && !$0.plan.isEmpty } }

    /// Removes the staged packs.
    public func cleanUp() {
        for directory in staging { try? FileSystem.removeTree(directory) }
    }

    private enum Key: String, CodingKey { case schemaVersion, sections, needsReboot, empty }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(Plan.schemaVersion, forKey: .schemaVersion)
        try container.encode(sections, forKey: .sections)
        try container.encode(needsReboot, forKey: .needsReboot)
        try container.encode(isEmpty, forKey: .empty)
    }
}

/// Plans a host spec with each module's own planner; nothing on the host changes.
public struct HostPlanner: Sendable {
    public var root: HostRoot
    public var runner: CommandRunner

    public init(root: HostRoot, runner: CommandRunner = CommandRunner()) {
        self.root = root
        self.runner = runner
    }

    /// The plan; packs are staged (verified and copied) on the machine, to be cleaned up after.
    public func plan(_ spec: HostSpec) async throws(Dom0Error) -> HostPlan {
        var host = HostPlan(sections: [])
        do {
            if let disk = spec.disk { host.sections.append(try await planDisk(disk)) }
            if let packs = spec.packs { host.sections.append(try await planPacks(packs, staging: &host.staging)) }
            if let boot = spec.boot { host.sections.append(try await planBoot(boot)) }
            if let slice = spec.controlSlice {
                host.sections.append(HostPlanSection(module: "control-slice", plan: try SlicePlanner(root: root).planApply(slice).plan))
            }
            if spec.devices != nil || spec.enableAgent { host.sections.append(try await planAgent(spec)) }
            if let devices = spec.devices { host.sections.append(try await planBinding(devices)) }
        } catch {
            host.cleanUp()
            throw error
        }
        return host
    }

    private func planDisk(_ disk: HostSpec.Disk) async throws(Dom0Error) -> HostPlanSection {
        var options = DiskOptions()
        options.layout = disk.layout
        options.firmware = disk.firmware
        options.wipe = disk.wipe
        options.mkfs = disk.mkfs
        options.destroyLocalSR = disk.upgrade == .convert
        // An upgrade needs something to upgrade: a blank disk gets the fresh layout either way.
        if disk.upgrade != .never {
            options.upgrade = try await Disk.read(FilePath(disk.device), root: root, runner: runner).table != nil
        }
        let report = try await DiskPlanner(root: root, runner: runner).plan(FilePath(disk.device), options)
        return HostPlanSection(module: "disk", plan: report.plan, notes: [report.reason] + report.warnings)
    }

    /// Pack sources are media on the machine running host-prepare, not files of the host.
    private func planPacks(_ packs: HostSpec.Packs, staging: inout [FilePath]) async throws(Dom0Error) -> HostPlanSection {
        var section = HostPlanSection(module: "packs", plan: Plan())
        let installer = PackInstaller(root: root, acceptEULA: packs.acceptEULA)
        for source in packs.sources {
            do {
                let prepared = try await installer.prepare(try PackSource.open(FilePath(source)), runner: runner)
                if let directory = prepared.staging { staging.append(directory) }
                section.plan.changes += prepared.plan.changes
            } catch where error.status == .alreadyInstalled {
                section.notes.append(error.what)
            }
        }
        return section
    }

    private func planBoot(_ boot: HostSpec.Boot) async throws(Dom0Error) -> HostPlanSection {
        let editor = BootEditor(root: root, style: boot.style, runner: runner)
        var edits: [BootEdit] = []
        var notes: [String] = []
        if !boot.hide.isEmpty { edits += try await BootKnobs.hide(add: boot.hide, remove: [], editor) }
        if !boot.vfioIDs.isEmpty { edits += try await BootKnobs.vfio(add: boot.vfioIDs, remove: [], editor) }
        if let iommu = boot.iommu { edits += try BootKnobs.xenIOMMU(iommu) }
        if let memory = boot.dom0Memory {
            let (memoryEdits, warnings) = try await BootKnobs.dom0Memory(memory.min, maximum: memory.max, editor)
            edits += memoryEdits
            notes += warnings
        }
        edits += boot.xenArguments.map { .set(.xen, $0) } + boot.dom0Arguments.map { .set(.dom0, $0) }
        let report = try await editor.plan(edits)
        return HostPlanSection(module: "boot", plan: report.plan, notes: notes + report.warnings)
    }

    /// The agent's rules file and, when asked, its unit enabled for boot.
    private func planAgent(_ spec: HostSpec) async throws(Dom0Error) -> HostPlanSection {
        var section = HostPlanSection(module: "agent", plan: Plan())
        if let devices = spec.devices {
            section.plan.add(try Change.file(BindRules.path, content: Array(devices.configFile.utf8), in: root, module: "agent",
                                             summary: "pciback-agent's rules"))
        }
        if spec.enableAgent {
            let unit = "pciback-agent.service"
            let scope = root.isSystem ? [] : ["--root=\(root.path)"]
            let state = try await runner.run(["systemctl"] + scope + ["is-enabled", unit], effect: .readOnly)
            let answer = state.stdout.trimmingWhitespace
            if answer == "not-found" || state.stderr.contains("No such file") {
                throw Dom0Error(.refused, "\(unit) is not installed", at: root.path.string,
                                fix: "install Dom0Kit's units (installer/install.sh) or drop agent.enable from the spec")
            }
            if answer != "enabled" {
                // On the running system, --now also starts it; a root being prepared offline only gets the link.
                section.plan.add(.tool(["systemctl"] + scope + ["enable"] + (root.isSystem ? ["--now"] : []) + [unit],
                                       module: "agent", summary: "enable \(unit)"))
            }
        }
        return section
    }

    /// The hidden devices not yet on their drivers, bound now rather than at the next udev event:
    /// what a dry-run pass of the agent finds, with the rules file as the plan writes it.
    private func planBinding(_ devices: HostSpec.Devices) async throws(Dom0Error) -> HostPlanSection {
        let rules = try BindRules.load(root, config: devices.configFile)
        let pass = try await Reconciler(binder: Binder(root: root, runner: runner), dryRun: true).reconcile(rules: rules)
        let pending = pass.devices.filter { $0.outcome == .pending }.map(\.bdf.description)
        var section = HostPlanSection(module: "devices", plan: Plan())
        if !pending.isEmpty {
            section.plan.add(.step(BindHiddenDevices(devices: pending), module: "devices", summary: "as pciback-agent once would"))
        }
        return section
    }
}

/// A pass of pciback-agent over the devices the rules hide (its rules file is written by then).
struct BindHiddenDevices: PlanStep {
    var devices: [String]

    var kind: String { "bindDevices" }
    var details: [String: String] { ["devices": devices.joined(separator: " ")] }
    var headline: String { "bind " + devices.joined(separator: ", ") }

    func apply(_ context: ApplyContext) async throws(Dom0Error) {
        let binder = Binder(root: context.root, sysfs: context.sysfs, runner: context.runner)
        let report = try await Reconciler(binder: binder).reconcile()
        let unbound = report.devices.filter { $0.outcome != .bound && $0.outcome != .alreadyBound }
        guard unbound.isEmpty else {
            throw Dom0Error(.failed, "not every hidden device could be bound",
                            why: unbound.map { "\($0.bdf): \($0.message)" }.joined(separator: "; "),
                            fix: "see pciback-agent health; fix the rules in the spec")
        }
    }
}

extension HostPlan {
    /// The plan for people, module by module.
    public var text: String {
        guard !sections.isEmpty else { return "The spec describes nothing to prepare.\n" }
        var text = ""
        for section in sections {
            text += "\(section.module):\n"
            for note in section.notes where !note.isEmpty { text += "  note: \(note)\n" }
            text += section.plan.text.indented
        }
        if needsReboot { text += "The boot command lines change: the host needs a reboot to use them.\n" }
        return text
    }
}

extension HostApplyReport {
    /// What apply did, for people.
    public var text: String {
        var text = resumed.map { "Finishing \($0.summary).\n" } ?? ""
        guard let apply else { return text + "Nothing to do: the host is as the spec says.\n" }
        text += plan.text + "\nApplied:\n" + apply.text
        if needsReboot { text += "Reboot needed: the new boot command lines take effect at the next boot.\n" }
        return text
    }
}
