import BootConfig
import ControlSlice
import DiskLayout
import Dom0Core
import PCIDevices
import SystemPackage

/// A host described once: what `host-prepare plan`, `apply` and `check` make so. Every section is
/// optional; a missing one leaves that part of the host alone.
public struct HostSpec: Sendable, Equatable {
    /// Where first boot looks for the spec.
    public static let firstBootPath: FilePath = "/etc/dom0kit/host.yaml"

    /// The dom0 disk.
    public struct Disk: Sendable, Equatable {
        /// What an existing layout may become.
        public enum Upgrade: String, Sendable, CaseIterable {
            /// Write the layout only on an empty disk (or with `wipe`).
            case never
            /// Upgrade an older layout as the XenServer installer does, keeping the local SR.
            case allowed
            /// As `allowed`, and accept converting to the XS8 layout, which re-creates the local SR empty.
            case convert
        }

        /// A host path: `/dev/sda`, `/dev/disk/by-id/…`, or an image file.
        public var device: FilePath
        public var layout = LayoutName.xs8
        /// nil: from the host (UEFI when /sys/firmware/efi exists).
        public var firmware: Firmware?
        public var wipe = false
        public var mkfs = false
        public var upgrade = Upgrade.never

        /// What dom0-partition is asked to do for this disk: an upgrade where the disk has a
        /// layout to upgrade, the fresh layout on a blank one.
        public var options: DiskOptions {
            var options = DiskOptions()
            options.layout = layout
            options.firmware = firmware
            options.wipe = wipe
            options.mkfs = mkfs
            options.upgrade = upgrade != .never
            options.freshWhenBlank = true
            options.destroyLocalSR = upgrade == .convert
            return options
        }
    }

    /// The boot command lines: where they live, and the settings to add to them.
    public struct Boot: Sendable, Equatable {
        public var style = BootStyle.auto
        public var settings = BootSettings()
    }

    /// Supplemental packs to install.
    public struct Packs: Sendable, Equatable {
        /// ISOs or pack directories (paths on the machine running host-prepare), in order.
        public var sources: [FilePath]
        public var acceptEULA = false
    }

    /// Domain-0's CPUs: Xen's arguments for its vCPUs, pinning, nodes and the scheduler's
    /// granularity (planned with the boot section's), and its weight in Xen's scheduler.
    public struct Dom0: Sendable, Equatable {
        public var cpus = Dom0CPUSettings()
        public var sched: Dom0Sched?
    }

    /// The pciback-agent's rules, written to `/etc/dom0kit/pciback.conf`.
    public struct Devices: Sendable, Equatable {
        public var rules: [BindRule]
    }

    public var disk: Disk?
    public var boot: Boot?
    public var dom0: Dom0?
    /// Hugepages per NUMA node, for a native (KVM/VFIO) host's guests, and where the spec says them.
    public var hugepages: Hugepages?
    public var hugepagesSource = HugepagesSource()
    public var packs: Packs?
    public var controlSlice: SliceConfig?
    public var devices: Devices?
    /// Enable pciback-agent.service.
    public var enableAgent = false

    public init() {}

    /// The boot settings to plan: the boot section's and the dom0 section's Xen arguments; nil
    /// when neither says anything about the command lines.
    public var bootSettings: (style: BootStyle, settings: BootSettings)? {
        let cpus = dom0?.cpus ?? Dom0CPUSettings()
        guard boot != nil || !cpus.isEmpty || hugepages != nil else { return nil }
        var settings = boot?.settings ?? BootSettings()
        settings.dom0CPUs = cpus
        settings.hugepages = hugepages
        settings.hugepagesSource = hugepagesSource
        return (boot?.style ?? .auto, settings)
    }

    /// The spec's sections: each names the part of the host it describes (`HostPart`'s raw values).
    public static let sectionNames = HostPart.allCases.map(\.rawValue)

    /// Reads a spec file (YAML or JSON) under the machine's own root: the spec describes the host,
    /// it is not part of it. Errors name the file, line and path (`boot.hide[2]`).
    public static func load(_ file: FilePath) throws(Dom0Error) -> HostSpec {
        guard let bytes = try FileSystem.read(file) else {
            throw Dom0Error(.usage, "no such spec", at: file.string, fix: "name a host spec (YAML or JSON)")
        }
        return try parse(String(decoding: bytes, as: UTF8.self), file: file.string)
    }

    /// Parses spec text; `file` is what errors name.
    public static func parse(_ text: String, file: String) throws(Dom0Error) -> HostSpec {
        guard let node = try YAML.parse(text, file: file) else {
            throw Dom0Error(.usage, "the spec is empty", at: file, fix: "describe at least one of disk, boot, packs, control_slice, devices")
        }
        let top = try SpecValue(node: node, path: "", file: file).fields(sectionNames)
        var spec = HostSpec()
        spec.disk = try top["disk"].map(disk)
        spec.dom0 = try top["dom0"].map(dom0)
        let dom0Keys = spec.dom0?.cpus.keys ?? []
        spec.boot = try top["boot"].map { value throws(Dom0Error) in try boot(value, keysOfDom0: dom0Keys) }
        if let section = top["hugepages"] {
            (spec.hugepages, spec.hugepagesSource) = try hugepages(section)
            // Whatever the host, a spec for Xen's dom0 cannot have them: its dom0 runs PV.
            if let xen = try xenSection(of: spec, top) {
                throw section.error("hugepages with Xen's \(xen): a Xen PV dom0 has no hugetlbfs (Linux suppresses it in PV guests)",
                                    fix: "hugepages are for native (KVM/VFIO) hosts; take the section out of a Xen host's spec")
            }
        }
        spec.packs = try top["packs"].map(packs)
        spec.controlSlice = try top["control_slice"].map(controlSlice)
        spec.devices = try top["devices"].map(devices)
        if let agent = top["agent"] {
            let fields = try agent.fields(["enable"])
            spec.enableAgent = try fields.required("enable").bool()
        }
        return spec
    }

    private static func disk(_ value: SpecValue) throws(Dom0Error) -> Disk {
        let fields = try value.fields(["device", "layout", "firmware", "wipe", "mkfs", "upgrade"])
        var disk = Disk(device: try fields.required("device").absolutePath(example: "/dev/sda"))
        if let layout = fields["layout"] { disk.layout = try layout.choice(of: LayoutName.self) }
        if let firmware = fields["firmware"] {
            disk.firmware = Firmware(rawValue: try firmware.choice(["auto"] + Firmware.allCases.map(\.rawValue)))
        }
        disk.wipe = try fields["wipe"]?.bool() ?? false
        disk.mkfs = try fields["mkfs"]?.bool() ?? false
        if let upgrade = fields["upgrade"] {
            disk.upgrade = try upgrade.choice(of: Disk.Upgrade.self)
        }
        return disk
    }

    private static let bootKeys = ["style", "iommu", "dom0_mem", "hide", "vfio_ids", "xen_args", "dom0_args"]

    private static func boot(_ value: SpecValue, keysOfDom0: Set<String>) throws(Dom0Error) -> Boot {
        let fields = try value.fields(bootKeys)
        var boot = Boot()
        if let style = fields["style"] {
            boot.style = try style.choice(of: BootStyle.self)
        }
        if let iommu = fields["iommu"] {
            // `iommu: true` is the common case; any of Xen's iommu= values may be given as text.
            var text = try iommu.string()
            if let flag = try? iommu.bool() { text = flag ? "on" : "off" }
            do { boot.settings.iommu = try XenIOMMU(parsing: text) } catch { throw iommu.error(error.what, fix: error.fix) }
        }
        if let memory = fields["dom0_mem"] {
            let sizes = try memory.fields(["min", "max"])
            let minimum = try sizes.required("min"), maximum = sizes["max"]
            let (amount, most) = (try minimum.string(), try maximum?.string())
            do { boot.settings.dom0Memory = try Dom0Memory(amount: amount, maximum: most) } catch { throw memory.error(error.what, fix: "sizes as 4096M or 8G") }
        }
        if let hide = fields["hide"] {
            for item in try hide.items() {
                // An address, or {bdf: ADDRESS, note: why} for the operators who come after.
                let address: SpecValue
                if case .mapping = item.node.kind {
                    let entry = try item.fields(["bdf", "note"])
                    address = try entry.required("bdf")
                    _ = try entry["note"]?.string()
                } else {
                    address = item
                }
                let text = try address.string()
                do { boot.settings.hide.add(try HideList.slot(text)) } catch {
                    throw address.error(error.what, fix: "as 0000:04:00.0 or 04:00.*")
                }
            }
        }
        if let ids = fields["vfio_ids"] {
            for item in try ids.items() {
                let text = try item.string()
                do { try boot.settings.vfioIDs.add(text) } catch { throw item.error(error.what, fix: "as 10de:1c81") }
            }
        }
        boot.settings.xenArguments = try arguments(fields["xen_args"], for: .xen, setElsewhere: keysOfDom0)
        boot.settings.dom0Arguments = try arguments(fields["dom0_args"], for: .dom0)
        return boot
    }

    /// Command-line arguments: one word each (`sched-gran=core`, `nosmt`), and a knob's value
    /// (dom0_mem=, iommu=, xen-pciback.hide=) as xen-cmdline would check it.
    private static func arguments(_ value: SpecValue?, for line: BootLine, setElsewhere: Set<String> = []) throws(Dom0Error) -> [BootSetting] {
        guard let value else { return [] }
        var result: [BootSetting] = []
        for item in try value.items() {
            let text = try item.string()
            do throws(Dom0Error) {
                try BootArguments.checkOne(text)
            } catch {
                throw item.error("\(text.quotedForDisplay) is not one argument: \(error.why ?? "")", fix: "one word per item, as key=value")
            }
            let setting: BootSetting
            do throws(Dom0Error) {
                setting = try BootSetting(parsing: text, on: line)
            } catch {
                throw item.error(error.what, fix: error.fix ?? "as xen-cmdline would take it")
            }
            if setElsewhere.contains(BootArguments.key(of: text)) {
                throw item.error("\(BootArguments.key(of: text)) is set by the dom0 section too", fix: "give it once, in the dom0 section")
            }
            result.append(setting)
        }
        return result
    }

    private static func dom0(_ value: SpecValue) throws(Dom0Error) -> Dom0 {
        let fields = try value.fields(["vcpus", "pin", "nodes", "weight", "cap", "sched_gran"])
        var dom0 = Dom0()
        if let vcpus = fields["vcpus"] {
            let text = try vcpus.string()
            do { dom0.cpus.vcpus = try Dom0VCPUs(parsing: text) } catch { throw vcpus.error(error.what, fix: error.fix) }
        }
        dom0.cpus.pin = try fields["pin"]?.bool()
        if let nodes = fields["nodes"] {
            // Proximity-domain numbers, and optionally relaxed or strict, as Xen's dom0_nodes= takes them.
            var domains: [UInt32] = []
            var affinity: Dom0Nodes.Affinity?
            for item in try nodes.items() {
                let text = try item.string()
                if let word = Dom0Nodes.Affinity(rawValue: text) {
                    affinity = word
                } else if let domain = UInt32.parseDigits(text) {
                    domains.append(domain)
                } else {
                    throw item.error("\(text.quotedForDisplay) is not a proximity domain", fix: "as [0] or [0, 1, relaxed]")
                }
            }
            do { dom0.cpus.nodes = try Dom0Nodes(domains: domains, affinity: affinity) } catch { throw nodes.error(error.what, fix: error.fix) }
        }
        if let granularity = fields["sched_gran"] { dom0.cpus.granularity = try granularity.choice(of: SchedGranularity.self) }
        let weight = try fields["weight"]?.int(in: Dom0Sched.weightRange)
        let cap = try fields["cap"]?.int(in: Dom0Sched.capRange)
        if weight != nil || cap != nil { dom0.sched = try Dom0Sched(weight: weight, cap: cap) }
        return dom0
    }

    private static func hugepages(_ value: SpecValue) throws(Dom0Error) -> (Hugepages, HugepagesSource) {
        let fields = try value.fields(["size", "nodes", "total"])
        let sizeValue = try fields.required("size")
        let size = try sizeValue.choice(of: HugepageSize.self)
        var source = HugepagesSource([.section: value.place, .size: sizeValue.place])
        switch (fields["nodes"], fields["total"]) {
        case (let nodes?, nil):
            var list: [Hugepages.NodePages] = []
            source.places[.count] = nodes.place
            for (key, pages) in try nodes.entries() {
                guard let node = UInt32.parseDigits(key) else { throw pages.error("\(key.quotedForDisplay) is not a NUMA node number", fix: "as {0: 6200, 1: 0}") }
                let count = try pages.int(in: 0...Int(Hugepages.pageLimit - 1))
                do { list.append(try Hugepages.nodePages(node: node, pages: UInt64(count), at: nil)) } catch { throw pages.error(error.what, fix: error.fix) }
                source.places[.node(node)] = pages.place
            }
            do { return (Hugepages(size: size, count: .perNode(try Hugepages.checked(list, at: nil))), source) } catch { throw nodes.error(error.what, fix: error.fix) }
        case (nil, let total?):
            source.places[.count] = total.place
            return (Hugepages(size: size, count: .total(UInt64(try total.int(in: 0...Int(Hugepages.pageLimit - 1))))), source)
        case (_?, let total?):
            throw total.error("give nodes or total, not both", fix: "nodes: {0: 6200, 1: 0} for pages per node, or total: 12400 for the kernel's even split")
        case (nil, nil):
            throw value.error("missing nodes or total", fix: "nodes: {0: 6200, 1: 0} for pages per node, or total: 12400 for the kernel's even split")
        }
    }

    /// The part of a spec that makes it a Xen host's, if any: the dom0 section, or a boot setting
    /// only Xen's line takes.
    private static func xenSection(of spec: HostSpec, _ top: SpecFields) throws(Dom0Error) -> String? {
        if spec.dom0 != nil { return "dom0 section" }
        guard let boot = try top["boot"]?.fields(bootKeys) else { return nil }
        return ["iommu", "dom0_mem", "hide", "xen_args"].first { boot[$0] != nil }.map { "boot.\($0)" }
    }

    private static func packs(_ value: SpecValue) throws(Dom0Error) -> Packs {
        let fields = try value.fields(["sources", "accept_eula"])
        var packs = Packs(sources: [])
        for item in try fields.required("sources").items() {
            packs.sources.append(try item.absolutePath(example: "/srv/packs/driver.iso"))
        }
        packs.acceptEULA = try fields["accept_eula"]?.bool() ?? false
        return packs
    }

    private static func controlSlice(_ value: SpecValue) throws(Dom0Error) -> SliceConfig {
        let fields = try value.fields(["weight", "shares", "members"])
        var config = SliceConfig()
        if let weight = fields["weight"], let shares = fields["shares"] {
            throw shares.error("give weight or shares, not both (weight \(try weight.string()))")
        }
        if let weight = fields["weight"] { config.cpuWeight = try weight.int(in: CPUWeight.range) }
        if let shares = fields["shares"] { config.cpuWeight = CPUWeight.fromShares(try shares.int(in: CPUWeight.sharesRange)) }
        if let members = fields["members"] {
            var units: [String] = []
            for item in try members.items() {
                let location = "\(item.file):\(item.node.line)"
                do { units.append(try SliceConfig.unitName(try item.string(), at: location)) } catch { throw item.error(error.what, fix: error.fix) }
            }
            config.members = units
        }
        return config
    }

    private static func devices(_ value: SpecValue) throws(Dom0Error) -> Devices {
        let fields = try value.fields(["rules"])
        var rules: [BindRule] = []
        for item in try fields.required("rules").items() {
            let text = try item.string()
            // One rule per item: a newline inside would make it two lines of the rules file.
            guard !text.contains(where: \.isNewline) else { throw item.error("one rule per item", fix: "as 0000:04:00.0 pciback") }
            let parsed: [BindRule]
            do { parsed = try BindRules.parse(text, file: item.file) } catch { throw item.error(error.why ?? error.what, fix: error.fix) }
            guard var rule = parsed.first else { throw item.error("an empty rule", fix: "as 0000:04:00.0 pciback") }
            rule.line = item.node.line
            rules.append(rule)
        }
        return Devices(rules: rules)
    }
}
