import ControlSlice
import Dom0Core
import SystemPackage

/// The cgroup controllers, one line each, by virt-host-validate's names (v1's): those
/// control.slice's settings use — cpu for its weight, memory for MemoryMin=, blkio (v2's io) for
/// IOWeight= — FAIL when missing, since the setting then does nothing; natively also the six QEMU's
/// guests are confined with, WARN when missing, as virt-host-validate has them.
struct CgroupControllersCheck: HealthCheck {
    let subject = "cgroup controllers"

    static let guestControllers = ["cpu", "cpuacct", "cpuset", "memory", "devices", "blkio"]

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let slice = try SliceConfig.load(from: context.root) ?? SliceConfig()
        var wanted: [(name: String, missing: CheckStatus)] = [("cpu", .fail)]
        if slice.memoryMin != nil { wanted.append(("memory", .fail)) }
        if slice.ioWeight != nil { wanted.append(("blkio", .fail)) }
        if try !context.isXenDom0 {
            wanted += Self.guestControllers.filter { name in !wanted.contains { $0.name == name } }.map { ($0, .warn) }
        }
        let hierarchy = try Hierarchy.read(context.root)
        return try wanted.map { (name, missing) throws(Dom0Error) in
            let what = "cgroup \(name) controller"
            guard let hierarchy else { return .cannotTell(what, "no cgroup filesystem is mounted at /sys/fs/cgroup") }
            switch try hierarchy.find(name, context.root) {
            case .present(let how): return CheckResult(what, .pass, how)
            case .unknown(let why): return .cannotTell(what, why)
            case .absent:
                return CheckResult(what, missing, "missing: " + hierarchy.fix(name)
                                   + (missing == .fail ? "; control.slice's settings do nothing without it" : ""))
            }
        }
    }

    /// The host's cgroup hierarchy: v2's controllers, or v1's mounted hierarchies.
    enum Hierarchy {
        case unified(Set<String>)
        /// Each v1 controller and where it is mounted.
        case legacy([String: String])

        static func read(_ root: HostRoot) throws(Dom0Error) -> Hierarchy? {
            try parse(controllers: root.readText("/sys/fs/cgroup/cgroup.controllers"), mountinfo: root.readText("/proc/self/mountinfo") ?? "")
        }

        /// v2 when the root's cgroup.controllers exists; otherwise v1's cgroup mounts in mountinfo.
        static func parse(controllers: String?, mountinfo: String) -> Hierarchy? {
            if let controllers { return .unified(Set(controllers.split(whereSeparator: \.isWhitespace).map(String.init))) }
            // mountinfo: "… mount-point options [optional fields] - cgroup cgroup rw,cpu,cpuacct"
            var mounted: [String: String] = [:]
            for line in mountinfo.split(separator: "\n") {
                let halves = line.split(separator: " - ", maxSplits: 1)
                let fields = halves.first?.split(separator: " ") ?? []
                let source = halves.count == 2 ? halves[1].split(separator: " ") : []
                guard fields.count > 4, source.count > 2, source[0] == "cgroup" else { continue }
                for option in source[2].split(separator: ",") { mounted[String(option)] = String(fields[4]) }
            }
            return mounted.isEmpty ? nil : .legacy(mounted)
        }

        enum Presence { case present(String), absent, unknown(String) }

        /// Whether the controller is there, and how, as the PASS line says it.
        func find(_ name: String, _ root: HostRoot) throws(Dom0Error) -> Presence {
            let found: String?
            switch self {
            case .legacy(let mounted):
                found = mounted[name].map { "v1, mounted at \($0)" }
            case .unified(let controllers):
                switch name {
                case "cpuacct": found = controllers.contains("cpu") ? "v2: cpu.stat accounts CPU time" : nil
                case "blkio": found = controllers.contains("io") ? "v2: io" : nil
                case "devices": return try Self.bpfDevicePrograms(root)
                default: found = controllers.contains(name) ? "v2" : nil
                }
            }
            return found.map { .present($0) } ?? .absent
        }

        func fix(_ name: String) -> String {
            switch self {
            case .legacy: return "mount the \(name) hierarchy (systemd mounts every v1 controller the kernel has) or build the kernel with it"
            case .unified where name == "devices": return "cgroup v2 confines devices with BPF programs: a kernel with CONFIG_CGROUP_BPF"
            case .unified: return "the kernel lists no \(name == "blkio" ? "io" : name) in /sys/fs/cgroup/cgroup.controllers: build it in, or free it from a v1 mount"
            }
        }

        /// cgroup v2 has no devices controller: BPF programs do its work, when the kernel was
        /// built with CONFIG_CGROUP_BPF (read from Debian's /boot/config-<release>).
        static func bpfDevicePrograms(_ root: HostRoot) throws(Dom0Error) -> Presence {
            guard let release = try root.readText("/proc/sys/kernel/osrelease")?.trimmingWhitespace,
                  let config = try root.readText(FilePath("/boot/config-\(release)")) else {
                return .unknown("cgroup v2 confines devices with BPF programs; no /boot/config-<release> says whether this kernel can")
            }
            return config.split(separator: "\n").contains("CONFIG_CGROUP_BPF=y") ? .present("v2: BPF device programs (CONFIG_CGROUP_BPF)") : .absent
        }
    }
}
