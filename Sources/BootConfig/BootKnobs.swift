import Dom0Core
import PCIDevices

/// The typed knobs of `host-prepare boot` and a host spec's boot section, each turned into the
/// edits xen-cmdline makes. Values arrive parsed (the edge that read the text checked them).
public enum BootKnobs {
    /// The hidden devices as configured (dom0's `xen-pciback.hide`).
    public static func hidden(_ editor: BootEditor) async throws(Dom0Error) -> HideList {
        guard let value = try await editor.configured(.dom0).value(of: BootKnob.hide) else { return HideList() }
        return try HideList(parsing: value)
    }

    /// Edits that add and remove devices from `xen-pciback.hide` (deleting it when it empties).
    public static func hide(add: HideList, remove: HideList, _ editor: BootEditor) async throws(Dom0Error) -> [BootEdit] {
        var list = try await hidden(editor)
        for slot in add.slots { list.add(slot) }
        for slot in remove.slots { list.remove(slot) }
        return list.isEmpty ? [.delete(.dom0, BootKnob.hide)] : [.set(.hide(list))]
    }

    /// The vfio-pci ids as configured.
    public static func vfioIDs(_ editor: BootEditor) async throws(Dom0Error) -> VFIOIDs {
        guard let value = try await editor.configured(.dom0).value(of: BootKnob.vfioIDs) else { return VFIOIDs() }
        return try VFIOIDs(parsing: value)
    }

    /// Edits that add and remove vfio-pci ids.
    public static func vfio(add: VFIOIDs, remove: VFIOIDs, _ editor: BootEditor) async throws(Dom0Error) -> [BootEdit] {
        var ids = try await vfioIDs(editor)
        for id in add.ids { try ids.add(id) }
        for id in remove.ids { try ids.remove(id) }
        return ids.isEmpty ? [.delete(.dom0, BootKnob.vfioIDs)] : [.set(.vfioIDs(ids))]
    }

    /// Xen's IOMMU setting, as Xen's `iommu=` list.
    public static func xenIOMMU(_ value: XenIOMMU) -> [BootEdit] {
        [.set(.xenIOMMU(value))]
    }

    /// A native (KVM) kernel's IOMMU: on Intel `intel_iommu=on` (Debian's kernels leave VT-d off
    /// by default); on AMD, where AMD-Vi is on unless told otherwise and `amd_iommu=on` means
    /// nothing to Linux, the `amd_iommu=off` that would turn it off removed. `iommu=pt` with
    /// `passthrough`.
    public static func nativeIOMMU(vendor: String?, passthrough: Bool, _ editor: BootEditor) throws(Dom0Error) -> [BootEdit] {
        var vendor = vendor
        if vendor == nil { vendor = try HostFacts.cpuVendor(editor.root) }
        let enable: BootEdit
        switch vendor?.lowercased() {
        case "intel", "genuineintel": enable = .set(.argument(.dom0, try BootArgument("intel_iommu=on")))
        case "amd", "authenticamd": enable = .delete(.dom0, "amd_iommu=off")
        default:
            throw Dom0Error(.usage, "cannot tell the CPU vendor", at: vendor ?? "/proc/cpuinfo",
                            fix: "pass --vendor intel or --vendor amd")
        }
        return [enable, passthrough ? .set(.argument(.dom0, try BootArgument("iommu=pt"))) : .delete(.dom0, "iommu")]
    }

    /// dom0's memory, `dom0_mem=SIZE[,max:SIZE]`, and a warning when it is more than the host has.
    public static func dom0Memory(_ memory: Dom0Memory, _ editor: BootEditor) async throws(Dom0Error)
        -> (edits: [BootEdit], warnings: [String]) {
        var warnings: [String] = []
        if let hostBytes = try await HostFacts.memory(editor.root, runner: editor.runner) {
            for size in [memory.amount, memory.maximum].compactMap({ $0 }) where size.bytes > hostBytes {
                warnings.append("dom0_mem \(size) is more than the host's \(hostBytes >> 20) MiB")
            }
        }
        return ([.set(.dom0Memory(memory))], warnings)
    }
}
