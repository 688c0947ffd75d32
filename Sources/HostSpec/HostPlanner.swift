import BootConfig
import ControlSlice
import DiskLayout
import Dom0Core
import PCIDevices
import SuppPack
import SystemPackage

/// One part's section of a host plan.
public struct HostPlanSection: Sendable, Encodable {
    public var part: HostPart
    public var plan: Plan
    /// What people should know: a pack already installed, dom0_mem above the host's memory.
    public var notes: [String] = []

    // "module": the JSON's name for the part (docs/json.md).
    private enum CodingKeys: String, CodingKey { case part = "module", plan, notes }
}

/// Every module's changes for a spec, in the safe order: disk → packs → boot → Domain-0's
/// scheduler parameters → hugepages' record and unit → control slice → the agent's configuration
/// and unit → binding the hidden devices now.
public struct HostPlan: Sendable, TextReport {
    public var sections: [HostPlanSection]

    /// All changes, in order.
    public var plan: Plan { Plan(sections.flatMap(\.plan.changes)) }
    public var isEmpty: Bool { sections.allSatisfy(\.plan.isEmpty) }
    /// Whether applying it changes what only a reboot brings in (the boot command lines).
    public var needsReboot: Bool { sections.contains { $0.part.takesEffectAtBoot && !$0.plan.isEmpty } }

    private enum Key: String, CodingKey { case sections, needsReboot, empty }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(sections, forKey: .sections)
        try container.encode(needsReboot, forKey: .needsReboot)
        try container.encode(isEmpty, forKey: .empty)
    }
}

/// Plans a host spec: each module's own planner, called with the spec's section in that module's
/// types, in `HostPart`'s order. Nothing on the host (or this machine) changes.
public struct HostPlanner: Sendable {
    public var root: HostRoot
    public var runner: CommandRunner

    public init(root: HostRoot, runner: CommandRunner = CommandRunner()) {
        self.root = root
        self.runner = runner
    }

    /// The plan: a section for every module the spec describes.
    public func plan(_ spec: HostSpec) async throws(Dom0Error) -> HostPlan {
        var host = HostPlan(sections: [])
        for part in HostPart.allCases {
            if let section = try await section(part, of: spec) { host.sections.append(section) }
        }
        return host
    }

    /// One module's section, or nil when the spec leaves the module alone. A refusal's remedy
    /// names the spec's keys, not the tools' options.
    public func section(_ part: HostPart, of spec: HostSpec) async throws(Dom0Error) -> HostPlanSection? {
        do {
            return try await plannedSection(part, of: spec)
        } catch {
            throw error.told(through: .spec)
        }
    }

    private func plannedSection(_ part: HostPart, of spec: HostSpec) async throws(Dom0Error) -> HostPlanSection? {
        switch part {
        case .disk:
            guard let disk = spec.disk else { return nil }
            let report = try await DiskPlanner(root: root, runner: runner).plan(disk.device, disk.options)
            return HostPlanSection(part: part, plan: report.plan, notes: [report.reason] + report.warnings)
        case .packs:
            guard let packs = spec.packs else { return nil }
            var section = HostPlanSection(part: part, plan: Plan())
            let installer = PackInstaller(root: root, acceptEULA: packs.acceptEULA)
            for source in packs.sources {
                let install = try installer.plan(try PackSource.open(source))
                section.plan.changes += install.plan.changes
                section.notes += install.alreadyInstalled.map { "\($0.identity) \($0.version) is already installed" }
            }
            return section
        case .boot:
            guard let (style, settings) = spec.bootSettings else { return nil }
            let editor = BootEditor(root: root, style: style, runner: runner)
            let report = try await editor.plan(settings)
            let access = report.plan.isEmpty ? [] : try await editor.dom0AccessChanges(adding: settings.hide)
            return HostPlanSection(part: part, plan: report.plan, notes: report.warnings + access)
        case .hugepages:
            guard let hugepages = spec.hugepages else { return nil }
            let layout = try await BootEditor(root: root, style: spec.boot?.style ?? .auto, runner: runner)
                .hugepagesLayout(hugepages, source: spec.hugepagesSource)
            return HostPlanSection(part: part, plan: try await HugepagesPlanner(root: root, runner: runner).plan(hugepages, layout: layout))
        case .dom0:
            guard let sched = spec.dom0?.sched else { return nil }
            return HostPlanSection(part: part, plan: try await Dom0SchedPlanner(root: root, runner: runner).plan(sched))
        case .controlSlice:
            guard let slice = spec.controlSlice else { return nil }
            return HostPlanSection(part: part, plan: try SlicePlanner(root: root).planApply(slice).plan)
        case .agent:
            guard spec.devices != nil || spec.enableAgent else { return nil }
            let plan = try await AgentPlanner(root: root, runner: runner).planSetup(rules: spec.devices?.rules, enable: spec.enableAgent)
            return HostPlanSection(part: part, plan: plan)
        case .devices:
            guard let devices = spec.devices else { return nil }
            return HostPlanSection(part: part, plan: try await AgentPlanner(root: root, runner: runner).planBinding(rules: devices.rules))
        }
    }
}

extension HostPlan {
    /// The plan for people, module by module.
    public var text: String {
        guard !sections.isEmpty else { return "The spec describes nothing to prepare.\n" }
        var text = ""
        for section in sections {
            text += "\(section.part):\n"
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
