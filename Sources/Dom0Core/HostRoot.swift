import CLinux
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

    /// The root directory held open, for lookups the kernel keeps beneath it.
    private let anchor: Anchor

    /// The machine's own root.
    public static let system = HostRoot(checkedPath: "/", kernelLookups: true)

    /// The machine's own root, for tests: with `kernelLookups: false` as on a kernel without openat2.
    static func system(kernelLookups: Bool) -> HostRoot { HostRoot(checkedPath: "/", kernelLookups: kernelLookups) }

    private init(checkedPath: FilePath, kernelLookups: Bool) {
        path = checkedPath
        anchor = Anchor(kernelLookups ? checkedPath : nil)
    }

    /// A root at `directory`, which must exist; a relative directory is taken from the working directory.
    public init(_ directory: FilePath) throws(Dom0Error) {
        try self.init(directory, kernelLookups: true)
    }

    /// The same; with `kernelLookups: false` every path is walked in user space, as on a kernel
    /// without openat2 (XenServer 8's 4.19), so that tests hold both ways to one answer.
    init(_ directory: FilePath, kernelLookups: Bool) throws(Dom0Error) {
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
        self.init(checkedPath: real, kernelLookups: kernelLookups)
    }

    /// Whether opens are the kernel's lookups (openat2) rather than walks in user space.
    var usesKernelLookups: Bool { anchor.descriptor >= 0 }

    public static func == (left: HostRoot, right: HostRoot) -> Bool { left.path == right.path }
    public func hash(into hasher: inout Hasher) { hasher.combine(path) }

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
        try Self.check(hostPath)
        // One rule for every root, `/` included: what a path means (a PCI address in the real
        // path of /sys/class/net/eth0/device, say) must not depend on where the tree is.
        return try walk(Array(hostPath.components), from: path, hostPath: hostPath, followFinalLink: followFinalLink,
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

    /// Refuses what no host path may be: relative, or holding a `..`.
    private static func check(_ hostPath: FilePath) throws(Dom0Error) {
        // Byte by byte (a listing checks thousands): absolute, and no component is "..".
        let (absolute, climbs) = hostPath.withPlatformString { path -> (Bool, Bool) in
            var at = path, componentStart = path
            while true {
                let byte = at.pointee
                if byte == 0 || byte == CChar(UInt8(ascii: "/")) {
                    if at - componentStart == 2, componentStart[0] == CChar(UInt8(ascii: ".")), componentStart[1] == CChar(UInt8(ascii: ".")) {
                        return (path.pointee == CChar(UInt8(ascii: "/")), true)
                    }
                    if byte == 0 { return (path.pointee == CChar(UInt8(ascii: "/")), false) }
                    componentStart = at + 1
                }
                at += 1
            }
        }
        guard absolute else {
            throw Dom0Error(.usage, "host paths must be absolute", at: hostPath.string)
        }
        if climbs {
            throw Dom0Error(.refused, "refusing a path with '..'", at: hostPath.string,
                            why: "host paths must name a place under the host root directly")
        }
    }

    /// Runs `body` with a host path opened as `resolve` finds it, and closes it after; nil when
    /// nothing is there. `flags` are open(2)'s for opening what exists (O_CLOEXEC is added; with
    /// O_NOFOLLOW a link in the last component is not followed).
    ///
    /// Where the kernel can (openat2 with RESOLVE_BENEATH, Linux 5.6), the lookup is one call
    /// that fails rather than take any step out of the root. A path it will not follow that way —
    /// an absolute link, a /proc magic link, a link climbing above the root — or any other
    /// failure is walked as `resolve` walks it, which starts an absolute link again at the root
    /// and refuses the rest: one answer either way. Without openat2 (XenServer 8's 4.19) a tree's
    /// paths are walked, and `/`'s opened as they are. `directories` is `resolve`'s cache, for a
    /// run of opens through the same directories of a tree on a kernel without openat2.
    @inlinable
    public func withOpened<T>(_ hostPath: FilePath, _ flags: Int32, directories: inout Set<FilePath>,
                              _ body: (FileDescriptor) throws(Dom0Error) -> T) throws(Dom0Error) -> T? {
        guard let descriptor = try open(hostPath, entry: nil, flags, directories: &directories) else { return nil }
        defer { close(descriptor) }
        return try body(FileDescriptor(rawValue: descriptor))
    }

    /// What the `with…` scopes open (generic and inlined, so that a caller's result type costs
    /// no lookup of type metadata per call): a descriptor the caller closes, or nil when nothing
    /// is there. `entry`, when given, is a name listed in `hostPath`.
    @usableFromInline
    func open(_ hostPath: FilePath, entry: String?, _ flags: Int32, directories: inout Set<FilePath>) throws(Dom0Error) -> Int32? {
        try Self.check(hostPath)
        return try open(checked: hostPath, entry: entry, flags, directories: &directories)
    }

    /// Refuses an entry name that is not one name ("", ".", "..", one holding "/" or NUL).
    static func check(entry: String, of hostPath: FilePath) throws(Dom0Error) {
        if entry.isEmpty || entry == "." || entry == ".." || entry.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == 0 }) {
            throw Dom0Error(.usage, "'\(entry)' is not the name of an entry", at: hostPath.string)
        }
    }

    /// `open`, for a host path already checked (a listing's, once for all its entries).
    func open(checked hostPath: FilePath, entry: String?, _ flags: Int32, directories: inout Set<FilePath>) throws(Dom0Error) -> Int32? {
        if let entry { try Self.check(entry: entry, of: hostPath) }
        // The kernel's lookup: kept beneath the root (openat2), or without openat2 on the machine's
        // own root, the kernel's open as it is: nothing leads outside `/` (a link climbing above
        // it stays at it, as for every process).
        let openedAsIs = anchor.descriptor < 0 && isSystem
        if anchor.descriptor >= 0 || openedAsIs {
            let descriptor = Self.withPath(hostPath, entry, belowRoot: !openedAsIs) { path in
                openedAsIs ? Glibc.open(path, flags | O_CLOEXEC) : dom0kit_open_beneath(anchor.descriptor, path, flags | O_CLOEXEC)
            }
            if descriptor >= 0 { return descriptor }
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory || error == .notDirectory { return nil }
            if openedAsIs { throw .system("cannot open", at: (entry.map { hostPath.appending($0) } ?? hostPath).string, error) }
        }
        // What openat2 would not follow beneath the root, or a kernel without it: the walk.
        let real = try resolve(entry.map { hostPath.appending($0) } ?? hostPath, followFinalLink: flags & O_NOFOLLOW == 0,
                               directories: &directories)
        let descriptor = real.withPlatformString { Glibc.open($0, flags | O_CLOEXEC) }
        guard descriptor >= 0 else {
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory || error == .notDirectory { return nil }
            throw .system("cannot open", at: real.string, error)
        }
        return descriptor
    }

    /// Runs `body` with a checked host path, `entry` appended, as a C string built in the stack (a
    /// listing opens thousands): below the root ("etc/x"; "." for the root itself) or, when not
    /// `belowRoot`, as it is ("/etc/x").
    private static func withPath<T>(_ hostPath: FilePath, _ entry: String?, belowRoot: Bool,
                                    _ body: (UnsafePointer<CChar>) -> T) -> T {
        hostPath.withPlatformString { path in
            var start = path
            if belowRoot {
                while start.pointee == CChar(UInt8(ascii: "/")) { start += 1 }
            }
            guard var entry else { return start.pointee == 0 ? ".".withCString(body) : body(start) }
            let length = strlen(start)
            return entry.withUTF8 { name in
                withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + name.count + 2) { buffer in
                    var at = 0
                    for index in 0..<length { buffer[at] = start[index]; at += 1 }
                    if length > 0, start[length - 1] != CChar(UInt8(ascii: "/")) { buffer[at] = CChar(UInt8(ascii: "/")); at += 1 }
                    for byte in name { buffer[at] = CChar(bitPattern: byte); at += 1 }
                    buffer[at] = 0
                    return body(buffer.baseAddress!)
                }
            }
        }
    }

    /// The same, for one path.
    @inlinable
    public func withOpened<T>(_ hostPath: FilePath, _ flags: Int32,
                              _ body: (FileDescriptor) throws(Dom0Error) -> T) throws(Dom0Error) -> T? {
        var directories: Set<FilePath> = []
        return try withOpened(hostPath, flags, directories: &directories, body)
    }

    /// Runs `body` with a host directory opened (O_PATH: named, not read), so that several of its
    /// entries are read with one lookup each rather than a walk of the whole path each; nil when
    /// the directory is not there.
    @inlinable
    public func withDirectory<T>(_ hostPath: FilePath, directories: inout Set<FilePath>,
                                 _ body: (FileSystem.OpenDirectory) throws(Dom0Error) -> T) throws(Dom0Error) -> T? {
        guard let descriptor = try open(hostPath, entry: nil, Self.directoryFlags, directories: &directories) else { return nil }
        defer { close(descriptor) }
        return try body(FileSystem.OpenDirectory(descriptor: descriptor, root: path, directory: hostPath, entry: nil))
    }

    /// The same for the entry `name` of the host directory `hostPath` (a name as listed there,
    /// not a path): each function of /sys/bus/pci/devices, say, without a path made for each.
    @inlinable
    public func withDirectory<T>(entry name: String, of hostPath: FilePath, directories: inout Set<FilePath>,
                                 _ body: (FileSystem.OpenDirectory) throws(Dom0Error) -> T) throws(Dom0Error) -> T? {
        guard let descriptor = try open(hostPath, entry: name, Self.directoryFlags, directories: &directories) else { return nil }
        defer { close(descriptor) }
        return try body(FileSystem.OpenDirectory(descriptor: descriptor, root: path, directory: hostPath, entry: name))
    }

    /// Runs `body` with a host directory opened to be listed and to have its entries opened by
    /// their listed names (each function of /sys/bus/pci/devices): the path is checked and looked
    /// up once, each entry is one lookup. nil when the directory is not there.
    public func withListing<T>(_ hostPath: FilePath, _ body: (inout Listing) throws(Dom0Error) -> T) throws(Dom0Error) -> T? {
        var walked: Set<FilePath> = []
        guard let descriptor = try open(hostPath, entry: nil, O_RDONLY | O_DIRECTORY, directories: &walked) else { return nil }
        defer { close(descriptor) }
        var listing = Listing(root: self, directory: hostPath, descriptor: descriptor,
                              names: try FileSystem.entries(descriptor, named: hostPath), walked: walked)
        return try body(&listing)
    }

    /// The names in a host directory, without "." and ".."; in order unless `sorted` is false (for
    /// a caller that orders them its own way); nil when it is not there or not a directory.
    public func entries(_ hostPath: FilePath, sorted: Bool = true) throws(Dom0Error) -> [String]? {
        try withListing(hostPath) { sorted ? $0.names.sorted() : $0.names }
    }

    /// A host directory opened by `withListing`: its entries' names, and each entry opened by name.
    public struct Listing {
        @usableFromInline let root: HostRoot
        @usableFromInline let directory: FilePath
        let descriptor: Int32
        /// The names of the entries, without "." and "..", in the kernel's order.
        public let names: [String]
        /// Directories walked for the entries, on a tree without openat2 (`resolve`'s cache).
        var walked: Set<FilePath>
        private let isSystem: Bool

        init(root: HostRoot, directory: FilePath, descriptor: Int32, names: [String], walked: Set<FilePath>) {
            self.root = root
            self.directory = directory
            self.descriptor = descriptor
            self.names = names
            self.walked = walked
            isSystem = root.isSystem
        }

        /// Runs `body` with the entry `name` opened as a directory, as `HostRoot.withDirectory(entry:of:)`
        /// opens it; nil when it is not there or not a directory.
        @inlinable
        public mutating func withDirectory<T>(entry name: String, _ body: (FileSystem.OpenDirectory) throws(Dom0Error) -> T) throws(Dom0Error) -> T? {
            guard let descriptor = try open(name, HostRoot.directoryFlags) else { return nil }
            defer { close(descriptor) }
            return try body(FileSystem.OpenDirectory(descriptor: descriptor, root: root.path, directory: directory, entry: name))
        }

        /// An entry opened (a descriptor the caller closes), or nil when it is not there. On `/` it
        /// is looked up from the listed directory, one name: nothing leads outside `/` to keep it
        /// beneath (a /proc magic link is still refused where the kernel has openat2, and then
        /// walked, as `HostRoot.open` walks it). Under a tree, as `HostRoot.open` opens it.
        @usableFromInline
        mutating func open(_ name: String, _ flags: Int32) throws(Dom0Error) -> Int32? {
            guard isSystem else { return try root.open(checked: directory, entry: name, flags, directories: &walked) }
            try HostRoot.check(entry: name, of: directory)
            let kernel = root.usesKernelLookups
            let descriptor = name.withCString { name in
                kernel ? dom0kit_open_no_magiclinks(self.descriptor, name, flags | O_CLOEXEC) : openat(self.descriptor, name, flags | O_CLOEXEC)
            }
            if descriptor >= 0 { return descriptor }
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory || error == .notDirectory { return nil }
            if kernel { return try root.open(checked: directory, entry: name, flags, directories: &walked) }
            throw .system("cannot open", at: directory.appending(name).string, error)
        }
    }

    /// A directory opened to be named, not read (O_PATH).
    @usableFromInline static let directoryFlags = dom0kit_o_path | O_DIRECTORY

    /// The content of a host file, or nil when it does not exist.
    public func read(_ hostPath: FilePath) throws(Dom0Error) -> [UInt8]? {
        try withOpened(hostPath, O_RDONLY) { descriptor throws(Dom0Error) in
            try FileSystem.read(descriptor, named: hostPath)
        }
    }

    /// The content of a host file as text, or nil when it does not exist.
    public func readText(_ hostPath: FilePath) throws(Dom0Error) -> String? {
        try read(hostPath).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether a host path exists (after following links).
    public func exists(_ hostPath: FilePath) throws(Dom0Error) -> Bool {
        try withOpened(hostPath, dom0kit_o_path) { _ in } != nil
    }

    /// The host path of a real path under this root ("/tmp/r/etc/x" → "/etc/x").
    public func hostPath(of realPath: FilePath) -> FilePath? {
        guard realPath.starts(with: path) else { return nil }
        var host = FilePath("/")
        host.append(realPath.components.dropFirst(path.components.count))
        return host
    }
}

/// A root directory held open while a `HostRoot` of it lives: the directory openat2 keeps
/// lookups beneath.
private final class Anchor: Sendable {
    /// -1 when lookups are walked in user space: the kernel has no openat2 (before 5.6), a seccomp
    /// filter refuses it (some container runtimes), or the root could not be opened.
    let descriptor: Int32

    init(_ root: FilePath?) {
        guard let root else { descriptor = -1; return }
        let directory = root.withPlatformString { open($0, dom0kit_o_path | O_DIRECTORY | O_CLOEXEC) }
        // One probe at the start says whether openat2 can be used at all.
        let probe = directory >= 0 ? dom0kit_open_beneath(directory, ".", dom0kit_o_path | O_CLOEXEC) : -1
        if probe >= 0 {
            close(probe)
            descriptor = directory
        } else {
            if directory >= 0 { close(directory) }
            descriptor = -1
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }
}
