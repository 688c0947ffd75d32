import ControlSlice
import Dom0Core
import SystemPackage

/// Device models (qemu-dm, qemu-system-*) left outside every slice while control.slice's CPU
/// weight is raised: in the root cgroup they weigh the default 100 against the slice's 1000, so
/// under load the guests' emulated disks and NICs starve (xen-api#6150).
struct DeviceModelCheck: HealthCheck {
    let subject = "device models"

    static let defaultWeight = 100

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = subject
        let name = (try SliceConfig.load(from: context.root) ?? SliceConfig()).name
        guard let unit = try ControlSliceCheck.installedUnit(name, in: context.root),
              let weight = try ControlSliceCheck.weight(of: unit, in: context.root), weight > Self.defaultWeight else { return [] }
        var running = 0
        var outside: [String] = []
        for pid in try context.root.entries("/proc") ?? [] where pid.allSatisfy(\.isNumber) {
            guard let comm = try? context.root.readText(FilePath("/proc/\(pid)/comm"))?.trimmingWhitespace,
                  comm.hasPrefix("qemu-dm") || comm.hasPrefix("qemu-system-"),
                  let cgroups = try? context.root.readText(FilePath("/proc/\(pid)/cgroup")) else { continue }  // gone meanwhile
            running += 1
            if !Self.inSlice(cgroups) { outside.append("\(comm) (pid \(pid))") }
        }
        guard !outside.isEmpty else { return [CheckResult(what, .pass, "none outside a slice (\(running) running)")] }
        return [CheckResult(what, .warn, "\(outside.joined(separator: ", ")) outside any slice while \(name) weighs \(weight), "
                            + "\(Self.ratio(weight))× them: under load the guests' emulated disks and NICs starve "
                            + "(xen-api#6150); start device models in a slice of their own")]
    }

    /// The slice's weight against the default, to a tenth: "10", "1.5".
    static func ratio(_ weight: Int) -> String {
        let tenths = weight * 10 / defaultWeight
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }

    /// Whether the process's CPU cgroup (v2's, or v1's cpu hierarchy) lies under a slice.
    static func inSlice(_ cgroups: String) -> Bool {
        for line in cgroups.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[1].isEmpty || fields[1].split(separator: ",").contains("cpu") else { continue }
            return fields[2].split(separator: "/").contains { $0.hasSuffix(".slice") }
        }
        return false
    }
}
