import Dom0Core
import Glibc
import SystemPackage

/// How full dom0's filesystems are: `/` and `/var/log`, WARN from 80 % used and FAIL from 90 %,
/// as XCP-ng's operators ask (xcp-ng/xcp#385): a full `/` stops xapi, a full `/var/log` stops
/// logging. On the XS8 layout `/var/log` is its own partition so that logs cannot fill `/`: a host
/// of that layout whose logs are on `/` is told.
struct Dom0DisksCheck: HealthCheck {
    let subject = "dom0 disks"

    static let warnAt = 80, failAt = 90

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        guard let root = try Self.usage(context.root, "/") else { return [.cannotTell("dom0 disk /", "statvfs of / failed")] }
        var results = [verdict("dom0 disk /", root)]
        guard try context.root.exists("/var/log"), let logs = try Self.usage(context.root, "/var/log") else { return results }
        if logs.device != root.device {
            results.append(verdict("dom0 disk /var/log", logs))
        } else if case .found(let disk, "xs8") = try await DiskLayoutCheck.layout(context) {
            results.append(CheckResult("dom0 disk /var/log", .warn, "on / although \(disk) has the XS8 layout, whose logs partition "
                                       + "keeps logs from filling /: mount \(disk)'s partition 5 (logs) at /var/log"))
        }
        return results
    }

    struct Usage { var percent: Int, usedBytes: UInt64, sizeBytes: UInt64, device: UInt64 }

    /// Used space as df shows it: used / (used + available to users), rounded up.
    static func usage(_ root: HostRoot, _ path: FilePath) throws(Dom0Error) -> Usage? {
        let real = try root.resolve(path)
        var vfs = statvfs()
        guard statvfs(real.string, &vfs) == 0, let status = try FileSystem.status(real, followSymlinks: true) else { return nil }
        let block = UInt64(vfs.f_frsize)
        let used = UInt64(vfs.f_blocks >= vfs.f_bfree ? vfs.f_blocks - vfs.f_bfree : 0), usable = used + UInt64(vfs.f_bavail)
        let percent = usable == 0 ? 0 : Int((used * 100 + usable - 1) / usable)
        return Usage(percent: percent, usedBytes: used * block, sizeBytes: UInt64(vfs.f_blocks) * block, device: UInt64(status.st_dev))
    }

    private func verdict(_ what: String, _ usage: Usage) -> CheckResult {
        let shown = "\(usage.percent)% used, \(usage.usedBytes >> 20) of \(usage.sizeBytes >> 20) MiB"
        let status: CheckStatus = usage.percent >= Self.failAt ? .fail : usage.percent >= Self.warnAt ? .warn : .pass
        guard status != .pass else { return CheckResult(what, .pass, shown) }
        return CheckResult(what, status, shown + ": free space (old logs, crash dumps, pack ISOs) before it fills; "
                           + "\(Self.warnAt)% warns, \(Self.failAt)% fails")
    }
}
