import Dom0Core
import SystemPackage

/// Devices dom0 must keep: the one holding its root filesystem and the NIC of its default route.
/// Everything is read from the host root's own /proc and /sys, never the running machine's.
public struct DeviceGuard: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// The devices that must stay with dom0, each with the reason; read once per pass, not per device.
    public func protected() throws(Dom0Error) -> [BDF: BindRefusal] {
        var reasons = try defaultRouteDevices().mapValues {
            BindRefusal(reason: "it carries dom0's default route (\($0))", fix: "move the route to another NIC first, or bind it anyway with pciback-agent once --force")
        }
        for bdf in try rootDiskControllers() {
            reasons[bdf] = BindRefusal(reason: "it controls the disk of dom0's root filesystem",
                                       fix: "dom0 cannot run without it; move / to a disk on another controller first")
        }
        return reasons
    }

    /// The PCI functions above the block device mounted on / (through dm/md slaves).
    func rootDiskControllers() throws(Dom0Error) -> Set<BDF> {
        guard let mountinfo = try root.readText("/proc/self/mountinfo") else { return [] }
        var result: Set<BDF> = []
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4] == "/" else { continue }
            result.formUnion(try ancestors(ofBlock: FilePath("/sys/dev/block/\(fields[2])"), depth: 0))
        }
        return result
    }

    private func ancestors(ofBlock path: FilePath, depth: Int) throws(Dom0Error) -> Set<BDF> {
        guard depth < 8, try root.exists(path) else { return [] }
        let real = try root.resolve(path)
        var result = Set(real.components.compactMap { BDF($0.string) })
        let slaves = real.appending("slaves")
        if try FileSystem.status(slaves, followSymlinks: true)?.isDirectory == true, let host = root.hostPath(of: slaves) {
            for name in try FileSystem.entries(slaves) {
                result.formUnion(try ancestors(ofBlock: host.appending(name), depth: depth + 1))
            }
        }
        return result
    }

    /// The PCI functions behind the default route's interface (and a bridge's members), by BDF.
    func defaultRouteDevices() throws(Dom0Error) -> [BDF: String] {
        guard let routes = try root.readText("/proc/net/route") else { return [:] }
        var result: [BDF: String] = [:]
        for line in routes.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count > 2, fields[1] == "00000000" else { continue }
            let interface = String(fields[0])
            var interfaces = [interface]
            let members = FilePath("/sys/class/net/\(interface)/brif")
            interfaces += try root.entries(members) ?? []
            for name in interfaces {
                let device = FilePath("/sys/class/net/\(name)/device")
                guard try root.exists(device) else { continue }
                for component in try root.resolve(device).components {
                    if let bdf = BDF(component.string) { result[bdf] = interface }
                }
            }
        }
        return result
    }
}

/// Why a device is not bound although a rule hides it, and what the operator can do about it.
public struct BindRefusal: Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var fix: String

    public var description: String { "\(reason); \(fix)" }
}
