import Dom0Core
import PCIDevices

/// Boot settings to add to what a host has configured (a host spec's boot section), each value
/// in its knob's type: lists add to the configured ones; nothing is ever removed.
public struct BootSettings: Sendable, Equatable {
    /// Xen's `iommu=` list.
    public var iommu: XenIOMMU?
    /// `dom0_mem=`.
    public var dom0Memory: Dom0Memory?
    /// Devices for `xen-pciback.hide`.
    public var hide = HideList()
    /// Ids for `vfio-pci.ids`.
    public var vfioIDs = VFIOIDs()
    /// dom0's vCPUs, their pinning and NUMA nodes, and the scheduler's granularity.
    public var dom0CPUs = Dom0CPUSettings()
    /// Hugepages for a native host's guests, on dom0's (the kernel's) line, and where they were asked.
    public var hugepages: Hugepages?
    public var hugepagesSource = HugepagesSource()
    /// More arguments for Xen and for dom0's kernel, each parsed where it was read.
    public var xenArguments: [BootSetting] = []
    public var dom0Arguments: [BootSetting] = []

    /// No settings.
    public init() {}
}

extension BootEditor {
    /// The plan that adds `settings` to the host's command lines, with the knobs' warnings
    /// (dom0_mem above the host's memory) among the report's.
    public func plan(_ settings: BootSettings) async throws(Dom0Error) -> BootEditReport {
        var edits: [BootEdit] = []
        var warnings: [String] = []
        if !settings.hide.isEmpty { edits += try await BootKnobs.hide(add: settings.hide, remove: HideList(), self) }
        if !settings.vfioIDs.isEmpty { edits += try await BootKnobs.vfio(add: settings.vfioIDs, remove: VFIOIDs(), self) }
        if let iommu = settings.iommu { edits += BootKnobs.xenIOMMU(iommu) }
        if let memory = settings.dom0Memory {
            let (memoryEdits, memoryWarnings) = try await BootKnobs.dom0Memory(memory, self)
            edits += memoryEdits
            warnings += memoryWarnings
        }
        edits += settings.dom0CPUs.edits
        if let hugepages = settings.hugepages {
            let layout = try await hugepagesLayout(hugepages, source: settings.hugepagesSource)
            edits += layout.edits
            warnings += layout.notes
        }
        edits += (settings.xenArguments + settings.dom0Arguments).map { .set($0) }
        var report = try await plan(edits)
        report.warnings = warnings + report.warnings
        return report
    }
}

extension BootEditor {
    /// How `hugepages` go on this host's kernel line; refused where the boot configuration boots
    /// Xen (XenServer's grub.cfg), whose dom0 runs PV without hugetlbfs.
    public func hugepagesLayout(_ hugepages: Hugepages, source: HugepagesSource) async throws(Dom0Error) -> HugepagesLayout {
        if case .xenserver(let path) = try chooseStyle() {
            throw source.refusal(.section, "hugepages on a host that boots Xen", evidence: path.string,
                                 why: "a Xen PV dom0 has no hugetlbfs (Linux suppresses it in PV guests)",
                                 fix: "reserve hugepages on a native (KVM/VFIO) host")
        }
        return try await HugepagesPlanner(root: root, runner: runner).layout(hugepages, source: source, configured: try await configured(.dom0))
    }
}
