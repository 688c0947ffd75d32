import Dom0Core
import SystemPackage

/// What the host's systemd and cgroups are, which decides how the slice is written.
public struct SliceHost: Sendable, Encodable {
    /// cgroup v2 (the unified hierarchy) or v1.
    public var cgroupVersion: Int
    /// The host's systemd version, when it can be told.
    public var systemdVersion: Int?

    /// Where unit files live, in systemd's order of precedence.
    public static let unitDirectories: [FilePath] = [
        "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system", "/lib/systemd/system",
    ]

    /// The first systemd that takes CPUWeight= and applies it as cpu.shares on cgroup v1.
    static let firstWithCPUWeight = 232

    /// Reads the cgroup hierarchy from /sys/fs/cgroup and systemd's version from its shared library's name.
    public static func read(_ root: HostRoot) throws(Dom0Error) -> SliceHost {
        let version = try root.exists("/sys/fs/cgroup/cgroup.controllers") ? 2 : 1
        var systemd: Int?
        for directory: FilePath in ["/usr/lib/systemd", "/lib/systemd", "/usr/lib/x86_64-linux-gnu/systemd"] {
            let real = try root.resolve(directory)
            guard try FileSystem.status(real, followSymlinks: true)?.isDirectory == true else { continue }
            for name in try FileSystem.entries(real) where name.hasPrefix("libsystemd-shared-") && name.hasSuffix(".so") {
                systemd = Int(name.dropFirst("libsystemd-shared-".count).dropLast(3).prefix { $0.isNumber })
            }
            if systemd != nil { break }
        }
        return SliceHost(cgroupVersion: version, systemdVersion: systemd)
    }

    /// Whether to write CPUShares= rather than CPUWeight=: only on cgroup v1 with a systemd too old
    /// (or unknown) to translate CPUWeight=. Never on v2, where systemd 258 ignores CPUShares=.
    public var writesShares: Bool {
        cgroupVersion == 1 && (systemdVersion ?? 0) < Self.firstWithCPUWeight
    }

    /// Whether the host has a unit file (or alias) of that name.
    public static func hasUnit(_ name: String, in root: HostRoot) throws(Dom0Error) -> Bool {
        for directory in unitDirectories where try root.exists(directory.appending(name)) { return true }
        return false
    }
}
