import BootConfig
import ControlSlice
import DiskLayout
import Dom0Core
import FakeHost
import PCIDevices
import SystemPackage

/// What `host-prepare demo` did, step by step, for the CLI to show.
public struct DemoReport: Sendable, Encodable {
    /// One PCI function of the demo host as people read it.
    public struct Device: Sendable, Encodable {
        public var address: String
        public var name: String
        public var driver: String?
        public var role: String
        public var hide: Bool
    }

    /// The directory given (or made); the host tree is its `root` folder.
    public var directory: String
    /// The host tree.
    public var root: String
    /// The demo host's PCI functions.
    public var devices: [Device]
    /// Notable files of the host.
    public var files: [String]
    /// Which capabilities this build has.
    public var capabilities: [String: Bool]
    /// The first plan.
    public var plan: Plan
    /// What applying it did.
    public var apply: ApplyReport
    /// The plan computed after applying: empty when apply did everything.
    public var planAfterApply: Plan
}

/// The demo: build the demo host, then plan and apply every capability this build has.
public enum Demo {
    /// The file that marks a directory as a demo's, so a second run may rebuild it.
    public static let marker = ".dom0kit-demo"

    /// Runs the demo in `directory` (a new temporary directory when nil).
    ///
    /// A directory that holds anything but an earlier demo is refused, so no user data is lost.
    public static func run(in directory: FilePath?) async throws(Dom0Error) -> DemoReport {
        let base = try prepare(directory)
        let demo = try DemoHost.build(at: base.appending("root"))
        let root = demo.host.root
        let simulator = KernelSimulator(demo.host)
        let context = ApplyContext(root: root, sysfs: simulator)

        let plan = try await makePlan(demo)
        let report = await plan.apply(context)
        let again = try await makePlan(demo)

        let names = PCINames()
        let devices = demo.devices.map { device in
            let spec = device.spec
            let vendor = names.vendor(spec.vendor) ?? "vendor \(spec.vendor)"
            let product = names.device(vendor: spec.vendor, device: spec.device) ?? "device \(spec.device)"
            return DemoReport.Device(address: spec.bdf.description, name: "\(vendor) \(product)", driver: spec.driver,
                                     role: device.role, hide: device.hide)
        }
        return DemoReport(
            directory: base.string, root: root.path.string, devices: devices,
            files: [DemoHost.grubConfig.string, "/etc/default/grub", "/proc/cmdline",
                    "\(DemoHost.disk) (sparse \(DemoHost.diskSize >> 30) GiB image)"]
                + DemoHost.controlDaemons.map { "/usr/lib/systemd/system/\($0).service" },
            capabilities: Dictionary(uniqueKeysWithValues: Capability.all.map { ($0.tool, $0.isAvailable) }),
            plan: plan, apply: report, planAfterApply: again)
    }

    /// The demo host's plan: every available capability adds its changes here, in `Capability.all`'s order.
    static func makePlan(_ demo: DemoHost) async throws(Dom0Error) -> Plan {
        var plan = Plan()
        // dom0-partition: the XS8 layout on the system disk (firmware from /sys/firmware/efi).
        plan.changes += try await DiskPlanner(root: demo.host.root).plan(DemoHost.disk, DiskOptions()).plan.changes
        // xen-cmdline: hide the guest devices from dom0 at the next boot.
        let boot = BootEditor(root: demo.host.root)
        let hidden = demo.devices.filter(\.hide).map(\.spec.bdf.description)
        plan.changes += try await boot.plan(try await BootKnobs.hide(add: hidden, remove: [], boot)).plan.changes
        // control-slice: the control-plane daemons get ten times the datapath's CPU.
        plan.changes += try SlicePlanner(root: demo.host.root).planApply(SliceConfig()).plan.changes
        return plan
    }

    private static func prepare(_ directory: FilePath?) throws(Dom0Error) -> FilePath {
        guard let directory else { return try FileSystem.makeTemporaryDirectory(prefix: "dom0kit-demo") }
        if let info = try FileSystem.status(directory, followSymlinks: true) {
            guard info.isDirectory else {
                throw Dom0Error(.refused, "the demo directory is a file", at: directory.string, fix: "name a new directory")
            }
            let entries = try FileSystem.entries(directory)
            if !entries.isEmpty {
                guard entries.contains(marker) else {
                    throw Dom0Error(.refused, "refusing to build the demo in a directory that holds other files",
                                    at: directory.string, fix: "name a new or empty directory")
                }
                try FileSystem.removeTree(directory.appending("root"))
            }
        } else {
            try FileSystem.createDirectories(directory)
        }
        let base = try HostRoot(directory)
        try AtomicWriter.write(Array("Made by host-prepare demo; safe to delete.\n".utf8), to: FilePath("/\(marker)"), in: base)
        return base.path
    }
}
