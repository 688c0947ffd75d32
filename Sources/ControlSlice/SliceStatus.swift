import Dom0Core
import SystemPackage

/// The slice as it runs: its live CPU weight and where each member's processes are.
public struct SliceStatus: Sendable, TextReport {
    /// Where a member's processes run.
    public enum State: String, Sendable, Encodable, CustomStringConvertible {
        case inSlice = "in slice"
        case outsideSlice = "outside the slice"
        case notRunning = "not running"

        public var description: String { rawValue }
    }

    /// One member unit.
    public struct Member: Sendable, Encodable {
        public var unit: String
        public var state: State
        /// The cgroup its processes are in, when running.
        public var cgroup: String?
    }

    public var slice: String
    public var configuredWeight: Int
    /// The weight the kernel has (cpu.weight, or cpu.shares converted on v1); nil when the slice is not live.
    public var liveWeight: Int?
    public var liveSource: String
    public var members: [Member]

    /// Reads /sys/fs/cgroup and /proc/*/cgroup under the root.
    public static func read(_ config: SliceConfig, members: [String], root: HostRoot) throws(Dom0Error) -> SliceStatus {
        let host = try SliceHost.read(root)
        var live: Int?
        var source = "the slice has no cgroup (not started, or not this host)"
        if host.cgroupVersion == 2 {
            let path = FilePath("/sys/fs/cgroup/\(config.name)/cpu.weight")
            if let text = try root.readText(path), let value = Int(text.trimmingWhitespace) { live = value; source = path.string }
        } else {
            for hierarchy in ["cpu,cpuacct", "cpu"] {
                let path = FilePath("/sys/fs/cgroup/\(hierarchy)/\(config.name)/cpu.shares")
                if let text = try root.readText(path), let shares = Int(text.trimmingWhitespace) {
                    live = CPUWeight.fromShares(shares)
                    source = path.string
                    break
                }
            }
        }
        let cgroups = try processCgroups(root)
        let states = members.map { unit in
            let paths = Set(cgroups.filter { $0.split(separator: "/").last.map(String.init) == unit })
            guard let path = paths.sorted().first else { return Member(unit: unit, state: .notRunning, cgroup: nil) }
            let inside = paths.allSatisfy { $0.split(separator: "/").contains(Substring(config.name)) }
            return Member(unit: unit, state: inside ? .inSlice : .outsideSlice, cgroup: path)
        }
        return SliceStatus(slice: config.name, configuredWeight: config.cpuWeight, liveWeight: live, liveSource: source,
                           members: states)
    }

    /// The cgroup path of every process: the v2 entry, or v1's systemd hierarchy.
    static func processCgroups(_ root: HostRoot) throws(Dom0Error) -> [String] {
        var paths: [String] = []
        for entry in try root.entries("/proc") ?? [] where entry.allSatisfy(\.isNumber) {
            guard let text = try? root.readText(FilePath("/proc/\(entry)/cgroup")) else { continue }
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count == 3, fields[1].isEmpty || fields[1] == "name=systemd" else { continue }
                paths.append(String(fields[2]))
            }
        }
        return paths
    }
}

extension SliceStatus {
    /// The configured and live weight, and where each member runs, for people.
    public var text: String {
        var text = "\(slice): configured weight \(configuredWeight), live "
            + (liveWeight.map { "\($0) (\(liveSource))" } ?? liveSource) + "\n"
        for member in members {
            text += "  \(member.unit.padding(24))\(member.state)\(member.cgroup.map { " (\($0))" } ?? "")\n"
        }
        return text
    }
}
