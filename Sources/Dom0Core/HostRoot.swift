import Glibc
import SystemPackage

/// The root of the host Dom0Kit works on: `/` in production, a tree in tests and demos.
///
/// Every host path ("/etc/default/grub") is resolved under the root the way `systemd --root`
/// resolves it: symbolic links are followed inside the root, an absolute link target starts
/// again at the root, and nothing may lead out of it. A `..` in a host path is refused outright.
public struct HostRoot: Sendable, Hashable, CustomStringConvertible {
    /// The root directory on the machine running Dom0Kit, absolute and free of links.
    public let path: FilePath

    /// The machine's own root.
    public static let system = HostRoot(checkedPath: "/")

    private init(checkedPath: FilePath) { path = checkedPath }

    /// A root at `directory`, which must exist; a relative directory is taken from the working directory.
    public init(_ directory: FilePath) throws(Dom0Error) {
        var absolute = directory
        if !absolute.isAbsolute {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard getcwd(&buffer, buffer.count) != nil else {
                throw .system("cannot find the working directory", at: directory.string, Errno(rawValue: errno))
            }
            absolute = FilePath(platformString: buffer).pushing(directory)
        }
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard absolute.withPlatformString({ realpath($0, &resolved) }) != nil else {
            throw Dom0Error(.usage, "no such host root", at: directory.string, why: Errno(rawValue: errno).explained,
                            fix: "pass --root an existing directory that holds the host's tree")
        }
        let real = FilePath(platformString: resolved)
        guard try FileSystem.status(real, followSymlinks: true)?.isDirectory == true else {
            throw Dom0Error(.usage, "the host root is not a directory", at: directory.string,
                            fix: "pass --root a directory")
        }
        path = real
    }

    /// Whether this is the running machine's own root.
    public var isSystem: Bool { path == "/" }

    public var description: String { path.string }

    /// The real path of a host path, with every link inside the root followed.
    ///
    /// Missing trailing components are allowed (for files about to be created); with
    /// `followFinalLink: false` a link in the last component is returned itself, not its target.
    public func resolve(_ hostPath: FilePath, followFinalLink: Bool = true) throws(Dom0Error) -> FilePath {
        var directories: Set<FilePath> = []
        return try resolve(hostPath, followFinalLink: followFinalLink, directories: &directories)
    }

    /// The same, for a run of resolutions through the same directories (the attributes of the
    /// devices one bind writes): `directories` holds the real directories earlier resolutions went
    /// through, each looked at once per run. A final component is always looked at.
    public func resolve(_ hostPath: FilePath, followFinalLink: Bool = true, directories: inout Set<FilePath>) throws(Dom0Error) -> FilePath {
        guard hostPath.isAbsolute else {
            throw Dom0Error(.usage, "host paths must be absolute", at: hostPath.string)
        }
        if hostPath.components.contains(where: { $0.kind == .parentDirectory }) {
            throw Dom0Error(.refused, "refusing a path with '..'", at: hostPath.string,
                            why: "host paths must name a place under the host root directly")
        }
        // One rule for every root, `/` included: what a path means (a PCI address in the real
        // path of /sys/class/net/eth0/device, say) must not depend on where the tree is.
        return try walk(Array(hostPath.components), from: path, hostPath: hostPath, followFinalLink: followFinalLink,
                        directories: &directories)
    }

    /// The real path of `name` in a directory already resolved under this root (a real path,
    /// as `resolve` returns), with links inside the root followed: one entry of a directory being
    /// listed, without walking the directory's own path again for each.
    ///
    /// `directories` holds the real directories earlier walks of the same listing went through
    /// (every function of the PCI bus links into the same few `/sys/devices/pci…` directories):
    /// each is looked at once per listing, not once per entry.
    public func resolve(_ name: String, in directory: FilePath, directories: inout Set<FilePath>) throws(Dom0Error) -> FilePath {
        let component = FilePath.Component(name)
        guard let component, component.kind == .regular, directory.starts(with: path) else {
            throw Dom0Error(.usage, "'\(name)' is not an entry of a directory under the host root", at: directory.string)
        }
        return try walk([component], from: directory, hostPath: directory.appending(component), followFinalLink: true,
                        directories: &directories)
    }

    /// Follows `components` from `start` (a real directory under the root), links and all;
    /// `hostPath` is what errors name.
    /// `directories` are real directories already walked through (none of them a link).
    private func walk(_ components: [FilePath.Component], from start: FilePath, hostPath: FilePath,
                      followFinalLink: Bool, directories: inout Set<FilePath>) throws(Dom0Error) -> FilePath {
        // `resolved` is the real path so far; `depth` counts its components below the root.
        var resolved = start
        var depth = start.components.count - path.components.count
        var pending = Array(components.reversed())
        var linksLeft = 40  // the kernel's own limit (MAXSYMLINKS)
        while let component = pending.popLast() {
            switch component.kind {
            case .currentDirectory:
                continue
            case .parentDirectory:
                guard depth > 0 else {
                    throw Dom0Error(.refused, "a link leads outside the host root", at: hostPath.string,
                                    why: "following it climbs above \(path)")
                }
                resolved.removeLastComponent()
                depth -= 1
                continue
            case .regular:
                break
            }
            let candidate = resolved.appending(component)
            if !pending.isEmpty, directories.contains(candidate) {
                resolved = candidate
                depth += 1
                continue
            }
            let entry = try FileSystem.entry(candidate)
            guard entry != .missing else {
                // Nothing exists below a missing component, so no more links can appear.
                resolved = candidate
                while let rest = pending.popLast() {
                    guard rest.kind == .regular else {
                        throw Dom0Error("cannot resolve", at: hostPath.string,
                                        why: "'\(rest)' follows the missing \(candidate)")
                    }
                    resolved.append(rest)
                }
                return resolved
            }
            guard case .link(let target) = entry, !pending.isEmpty || followFinalLink else {
                if entry == .other, !pending.isEmpty { directories.insert(candidate) }
                resolved = candidate
                depth += 1
                continue
            }
            linksLeft -= 1
            guard linksLeft > 0 else {
                throw Dom0Error("cannot resolve", at: hostPath.string, why: "too many levels of symbolic links")
            }
            if target.isAbsolute {
                resolved = path
                depth = 0
            }
            pending.append(contentsOf: target.components.reversed())
        }
        return resolved
    }

    /// The content of a host file, or nil when it does not exist.
    public func read(_ hostPath: FilePath) throws(Dom0Error) -> [UInt8]? {
        try FileSystem.read(resolve(hostPath))
    }

    /// The content of a host file as text, or nil when it does not exist.
    public func readText(_ hostPath: FilePath) throws(Dom0Error) -> String? {
        try read(hostPath).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether a host path exists (after following links).
    public func exists(_ hostPath: FilePath) throws(Dom0Error) -> Bool {
        try FileSystem.status(resolve(hostPath), followSymlinks: true) != nil
    }

    /// The host path of a real path under this root ("/tmp/r/etc/x" → "/etc/x").
    public func hostPath(of realPath: FilePath) -> FilePath? {
        guard realPath.starts(with: path) else { return nil }
        var host = FilePath("/")
        host.append(realPath.components.dropFirst(path.components.count))
        return host
    }
}
