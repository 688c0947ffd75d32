import ControlSlice
import Dom0Core
import SystemPackage

/// control.slice present, its weight, and its members' processes inside it.
struct ControlSliceCheck: HealthCheck {
    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let config = try SliceConfig.load(from: context.root) ?? SliceConfig()
        let places: [FilePath] = ["/etc/systemd/system", "/run/systemd/generator", "/usr/lib/systemd/system", "/lib/systemd/system"]
        var installed = false
        for directory in places where try context.root.exists(directory.appending(config.name)) { installed = true }
        guard installed else { return [CheckResult(config.name, .warn, "not installed; control-slice apply writes it")] }
        let members = try SlicePlanner(root: context.root).render(config).members
        let status = try SliceStatus.read(config, members: members, root: context.root)
        var results = [CheckResult(config.name, .pass, "configured weight \(config.cpuWeight)"
                                   + (status.liveWeight.map { ", live \($0)" } ?? ", not live"))]
        let outside = status.members.filter { $0.state == .outsideSlice }.map(\.unit)
        if !outside.isEmpty {
            results.append(CheckResult("\(config.name) members", .warn, "running outside the slice until restarted: " + outside.joined(separator: " ")))
        }
        return results
    }
}
