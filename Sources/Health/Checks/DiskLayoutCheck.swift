import DiskLayout
import Dom0Core
import SystemPackage

/// The dom0 disk's layout: xs8, legacy (an upgrade would convert it), or unknown.
struct DiskLayoutCheck: HealthCheck {
    let subject = "dom0 disk layout"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = subject
        switch try await Self.layout(context) {
        case .unknown(let why): return [.cannotTell(what, why)]
        case .found(let disk, "xs8"): return [CheckResult(what, .pass, "xs8 on \(disk)")]
        case .found(let disk, "legacy"): return [CheckResult(what, .warn, "the 4 GiB legacy layout on \(disk): dom0-partition --upgrade")]
        case .found(let disk, _): return [CheckResult(what, .warn, "not a XenServer layout on \(disk)")]
        }
    }

    enum Finding { case found(disk: String, layout: String), unknown(String) }

    /// The disk `/` is on and the layout its partition table has.
    static func layout(_ context: HealthContext) async throws(Dom0Error) -> Finding {
        guard let mountinfo = try context.root.readText("/proc/self/mountinfo"),
              let line = mountinfo.split(separator: "\n").first(where: { $0.split(separator: " ").dropFirst(4).first == "/" }) else {
            return .unknown("no mount of / in /proc/self/mountinfo")
        }
        let number = line.split(separator: " ")[2]
        let block = FilePath("/sys/dev/block/\(number)")
        // /sys/dev/block/MAJ:MIN of a partition resolves to …/block/<disk>/<partition>.
        guard try context.root.exists(block),
              let disk = try context.root.resolve(block).removingLastComponent().lastComponent?.string, disk != "block" else {
            return .unknown("cannot find the disk of / in /sys")
        }
        guard let table = try? await Disk.read(FilePath("/dev/\(disk)"), root: context.root, runner: context.runner).table else {
            return .unknown("cannot read /dev/\(disk)")
        }
        return .found(disk: "/dev/\(disk)", layout: table.recognizedLayout)
    }
}
