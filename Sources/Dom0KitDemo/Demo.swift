import BootConfig
import Dom0Core
import FakeHost
import Health
import HostSpec
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
    /// The spec written for the demo host, and its text.
    public var spec: String
    public var specText: String
    /// The pack the spec installs: an ISO built with xorriso, or a pack directory.
    public var pack: String
    /// The demo host's PCI functions.
    public var devices: [Device]
    /// Notable files of the host.
    public var files: [String]
    /// `host-prepare plan`, then `apply`, `apply` again, and `check`.
    public var plan: HostPlan
    public var apply: HostApplyReport
    public var applyAgain: HostApplyReport
    public var check: HealthReport
}

/// The demo: build the demo host, write its spec, and plan, apply, apply again and check it, as
/// `host-prepare` would on a real host.
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
        let (specPath, pack) = try await writeSpec(for: demo, in: base)
        let specText = try FileSystem.read(specPath).map { String(decoding: $0, as: UTF8.self) } ?? ""

        // From here on, exactly what `host-prepare plan/apply/check DIR/host.yaml --root DIR/root` does.
        let spec = try HostSpec.load(specPath)
        let applier = HostApplier(context: ApplyContext(root: root, sysfs: KernelSimulator(demo.host)))
        let plan = try await HostPlanner(root: root).plan(spec)
        let apply = try await applier.apply(spec, from: specPath.string)
        let again = try await applier.apply(spec, from: specPath.string)
        let check = await HostCheck.run(spec, HealthContext(root: root, xen: await XenFacts.read(root, runner: CommandRunner())))

        let names = PCINames()
        let devices = demo.devices.map { device in
            let spec = device.spec
            let vendor = names.vendor(spec.vendor) ?? "vendor \(spec.vendor)"
            let product = names.device(vendor: spec.vendor, device: spec.device) ?? "device \(spec.device)"
            return DemoReport.Device(address: spec.bdf.description, name: "\(vendor) \(product)", driver: spec.driver,
                                     role: device.role, hide: device.hide)
        }
        return DemoReport(
            directory: base.string, root: root.path.string, spec: specPath.string, specText: specText, pack: pack.string,
            devices: devices,
            files: [DemoHost.grubConfig.string, "/etc/default/grub", "/proc/cmdline",
                    "\(DemoHost.disk) (sparse \(DemoHost.diskSize >> 30) GiB image)"]
                + DemoHost.controlUnits.map { "/usr/lib/systemd/system/\($0)" },
            plan: plan, apply: apply, applyAgain: again, check: check)
    }

    /// Writes the demo host's spec to `base/host.yaml` and its pack to `base/packs`; returns both paths.
    public static func writeSpec(for demo: DemoHost, in base: FilePath) async throws(Dom0Error) -> (spec: FilePath, pack: FilePath) {
        let pack = try await makePack(in: base.appending("packs"))
        try AtomicWriter.write(Array(specText(demo, pack: pack).utf8), to: FilePath("/host.yaml"), in: HostRoot(base))
        return (base.appending("host.yaml"), pack)
    }

    /// The demo host's spec: its disk laid out, a pack installed, the guest devices hidden and
    /// bound to pciback, dom0's memory fixed, and the control plane in control.slice.
    static func specText(_ demo: DemoHost, pack: FilePath) -> String {
        let hidden = demo.devices.filter(\.hide)
        return """
            # The demo host's spec, written by host-prepare demo. On a real host this would be
            # /etc/dom0kit/host.yaml (applied at first boot) or any file given to host-prepare.
            disk:
              device: \(DemoHost.disk)           # the system disk (here a sparse 64 GiB image)
              layout: xs8
              wipe: false                # never destroy what a disk holds unless told to
            packs:
              sources:
                - \(pack)
            boot:
              hide:                      # kept from dom0 from the next boot on (xen-pciback.hide)
            \(hidden.map { "    - bdf: \($0.spec.bdf)\n      note: \($0.role)\n" }.joined())\
              dom0_mem: {min: 4096M, max: 4096M}
            control_slice:
              weight: 1000               # XenServer's CPUShares=10240, as a cgroup v2 weight
            devices:
              rules:                     # for pciback-agent, which binds them now and whenever they appear
            \(hidden.map { "    - \($0.spec.bdf) pciback\n" }.joined())
            """
    }

    /// A small pack with metadata only (a real pack carries RPMs): an ISO when xorriso is there,
    /// as packs ship, else the pack directory, which supp-pack reads the same way.
    static func makePack(in directory: FilePath) async throws(Dom0Error) -> FilePath {
        let pack = directory.appending("dom0kit-demo-tools")
        try FileSystem.createDirectories(pack)
        let files = try HostRoot(pack)
        try AtomicWriter.write(Array("""
            <?xml version="1.0" ?>
            <repository originator="dom0kit" name="demo-tools" version="1.0.0">
              <description>Dom0Kit demo pack (metadata only)</description>
            </repository>

            """.utf8), to: "/XS-REPOSITORY", in: files)
        try AtomicWriter.write(Array("<packages>\n</packages>\n".utf8), to: "/XS-PACKAGES", in: files)
        guard CommandRunner.locate("xorriso") != nil else { return pack }
        let image = directory.appending("dom0kit-demo-tools.iso")
        if try FileSystem.status(image) != nil { try FileSystem.remove(image) }
        try await CommandRunner().check(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", image.string, pack.string],
                                        effect: .readOnly)
        return image
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
                for earlier in ["root", "packs", "host.yaml"] where try FileSystem.status(directory.appending(earlier)) != nil {
                    try FileSystem.removeTree(directory.appending(earlier))
                }
            }
        } else {
            try FileSystem.createDirectories(directory)
        }
        let base = try HostRoot(directory)
        try AtomicWriter.write(Array("Made by host-prepare demo; safe to delete.\n".utf8), to: FilePath("/\(marker)"), in: base)
        return base.path
    }
}
