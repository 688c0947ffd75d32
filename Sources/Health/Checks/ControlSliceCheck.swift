import ControlSlice
import Dom0Core
import SystemPackage

/// control.slice present, its weight, and its members' processes inside it. What is configured is
/// what is installed — the slice unit's weight and the members control-slice's record lists, as
/// `control-slice apply` or a host spec wrote them — and the config file's only before any apply.
struct ControlSliceCheck: HealthCheck {
    let subject = "control.slice"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        var config = try SliceConfig.load(from: context.root) ?? SliceConfig()
        guard let unit = try Self.installedUnit(config.name, in: context.root) else {
            return [CheckResult(config.name, .warn, "not installed; control-slice apply writes it")]
        }
        if let weight = try Self.weight(of: unit, in: context.root) { config.cpuWeight = weight }
        let planner = SlicePlanner(root: context.root)
        let recorded = try planner.recordedMembers()
        let members = recorded.isEmpty ? try planner.render(config).members : recorded
        let status = try SliceStatus.read(config, members: members, root: context.root)
        var results = [CheckResult(config.name, .pass, "configured weight \(config.cpuWeight)"
                                   + (status.liveWeight.map { ", live \($0)" } ?? ", not live"))]
        let outside = status.members.filter { $0.state == .outsideSlice }.map(\.unit)
        if !outside.isEmpty {
            results.append(CheckResult("\(config.name) members", .warn, "running outside the slice until restarted: " + outside.joined(separator: " ")))
        }
        return results
    }

    /// Where the slice unit is installed, if it is.
    static func installedUnit(_ name: String, in root: HostRoot) throws(Dom0Error) -> FilePath? {
        let places: [FilePath] = ["/etc/systemd/system", "/run/systemd/generator", "/usr/lib/systemd/system", "/lib/systemd/system"]
        for directory in places where try root.exists(directory.appending(name)) { return directory.appending(name) }
        return nil
    }

    /// The CPU weight an installed slice unit sets (CPUShares= converted as systemd converts it).
    static func weight(of unit: FilePath, in root: HostRoot) throws(Dom0Error) -> Int? {
        for line in (try root.readText(unit) ?? "").split(separator: "\n").reversed() {
            if line.hasPrefix("CPUWeight="), let weight = Int(line.dropFirst("CPUWeight=".count)) { return weight }
            if line.hasPrefix("CPUShares="), let shares = Int(line.dropFirst("CPUShares=".count)) { return CPUWeight.fromShares(shares) }
        }
        return nil
    }
}
