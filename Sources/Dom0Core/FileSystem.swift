import Glibc
import SystemPackage

/// Thin, errno-preserving wrappers over the file system calls Dom0Kit needs, on real paths.
///
/// Callers resolve host paths through `HostRoot` first; these functions never interpret a root.
public enum FileSystem {
    /// What `lstat` says about a path, or nil when it does not exist.
    public static func status(_ path: FilePath, followSymlinks: Bool = false) throws(Dom0Error) -> stat? {
        var info = stat()
        let rc = path.withPlatformString { followSymlinks ? stat($0, &info) : lstat($0, &info) }
        if rc == 0 { return info }
        let error = Errno(rawValue: errno)
        if error == .noSuchFileOrDirectory || error == .notDirectory { return nil }
        throw .system("cannot inspect", at: path.string, error)
    }

    /// The most `read` takes of one file. Everything Dom0Kit reads whole is a configuration file,
    /// a record or a /proc or /sys file: a host's grub.cfg is a few KiB, /proc/interrupts of a
    /// 512-CPU host about 4 MiB. A larger file is refused, not parsed: a 50 MB grub.cfg cost
    /// 13 s and 0.9 GB of memory before this cap.
    public static let readLimit = 8 << 20

    /// The whole content of a file, or nil when it does not exist; refused beyond `readLimit` bytes.
    public static func read(_ path: FilePath) throws(Dom0Error) -> [UInt8]? {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch let error as Errno {
            if error == .noSuchFileOrDirectory || error == .notDirectory { return nil }
            throw .system("cannot open", at: path.string, error)
        } catch {
            throw Dom0Error("cannot open", at: path.string, why: "\(error)")
        }
        defer { try? fd.close() }
        return try read(fd, named: path)
    }

    /// The whole content of an open file, refused beyond `readLimit` bytes; `path` is what errors name.
    public static func read(_ fd: FileDescriptor, named path: FilePath) throws(Dom0Error) -> [UInt8] {
        let limit = readLimit
        func tooLarge(_ size: Int?) -> Dom0Error {
            Dom0Error(.refused, "refusing to read a file of \(size.map { "\($0) bytes" } ?? "more than \(limit) bytes")", at: path.string,
                      why: "Dom0Kit reads files of at most \(limit >> 20) MiB whole (a host's grub.cfg is a few KiB)",
                      fix: "check the file: it is not what a host keeps there")
        }
        // A regular file says its size; /proc's say 0 and are counted as they are read.
        var info = stat()
        if fstat(fd.rawValue, &info) == 0, info.st_size > limit { throw tooLarge(Int(info.st_size)) }
        var content: [UInt8] = []
        // Most files read are small (sysfs attributes, configs): one uninitialised stack buffer
        // serves, with no zeroing and no allocation besides the result.
        return try withUnsafeTemporaryAllocation(byteCount: 16384, alignment: 1) { buffer throws(Dom0Error) in
            while true {
                if content.count > limit { throw tooLarge(nil) }
                let count: Int
                do {
                    count = try fd.read(into: buffer, retryOnInterrupt: true)
                } catch let error as Errno {
                    throw .system("cannot read", at: path.string, error)
                } catch {
                    throw Dom0Error("cannot read", at: path.string, why: "\(error)")
                }
                if count == 0 { return content }
                content.append(contentsOf: buffer[0..<count])
            }
        }
    }

    /// A directory `HostRoot.withDirectory` opened: its entries read relative to it.
    public struct OpenDirectory {
        @usableFromInline let descriptor: Int32
        let root: FilePath
        let directory: FilePath
        let entry: String?

        @usableFromInline
        init(descriptor: Int32, root: FilePath, directory: FilePath, entry: String?) {
            self.descriptor = descriptor
            self.root = root
            self.directory = directory
            self.entry = entry
        }

        /// Where it is on this machine (the host path under the root), for errors; only made when
        /// one is, since a listing opens thousands.
        public var path: FilePath {
            let hostPath = entry.map { directory.appending($0) } ?? directory
            return root == "/" ? hostPath : FilePath(root.string + hostPath.string)
        }

        /// Runs `body` with an attribute's value, or gives nil when it does not exist; a link is not
        /// followed. Names are the kernel's, spelled in the code (C strings, no copy made). The
        /// kernel returns a sysfs attribute whole in one read of up to a page (unlike /proc's
        /// seq_files): one read into the stack serves, nothing allocated.
        @inlinable
        public func withAttribute<T>(_ name: StaticString, _ body: (UnsafeRawBufferPointer) throws(Dom0Error) -> T) throws(Dom0Error) -> T? {
            let fd = name.withUTF8Buffer { openat(descriptor, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else {
                let error = Errno(rawValue: errno)
                if error == .noSuchFileOrDirectory || error == .notDirectory || error == .operationNotSupportedByDevice { return nil }
                throw .system("cannot read", at: path.appending("\(name)").string, error)
            }
            defer { close(fd) }
            return try FileSystem.filling({ pread(fd, $0.baseAddress, $0.count, 0) }) { count, buffer throws(Dom0Error) in
                guard count >= 0 else { throw .system("cannot read", at: path.appending("\(name)").string, Errno(rawValue: errno)) }
                return try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            }
        }

        /// An attribute's value, or nil when it does not exist; a link is not followed.
        public func readAttribute(_ name: StaticString) throws(Dom0Error) -> [UInt8]? {
            try withAttribute(name) { [UInt8]($0) }
        }

        /// Runs `body` with the last component of an entry's link target ("pciback" for `driver`),
        /// or gives nil when the entry is missing or not a link.
        @inlinable
        public func withLinkName<T>(_ name: StaticString, _ body: (UnsafeRawBufferPointer) -> T) throws(Dom0Error) -> T? {
            try FileSystem.filling({ buffer in
                name.withUTF8Buffer {
                    readlinkat(descriptor, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                               buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
                }
            }) { count, buffer throws(Dom0Error) -> T? in
                guard count >= 0 else {
                    let error = Errno(rawValue: errno)
                    if error == .noSuchFileOrDirectory || error == .notDirectory || error == .invalidArgument { return nil }
                    throw .system("cannot read link", at: path.appending("\(name)").string, error)
                }
                var target = UnsafeRawBufferPointer(rebasing: buffer[..<count])[...]
                while target.last == UInt8(ascii: "/") { target = target.dropLast() }
                let last = target.lastIndex(of: UInt8(ascii: "/")).map { target[($0 + 1)...] } ?? target
                return last.isEmpty ? nil : body(UnsafeRawBufferPointer(rebasing: last))
            }
        }

        /// The last component of an entry's link target, or nil when it is missing or not a link.
        public func linkName(_ name: StaticString) throws(Dom0Error) -> String? {
            try withLinkName(name) { String(decoding: $0, as: UTF8.self) }
        }

        /// Whether the directory has an entry of that name (a link is not followed).
        public func hasEntry(_ name: StaticString) throws(Dom0Error) -> Bool {
            var status = stat()
            let result = name.withUTF8Buffer {
                fstatat(descriptor, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &status, AT_SYMLINK_NOFOLLOW)
            }
            guard result != 0 else { return true }
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory || error == .notDirectory { return false }
            throw .system("cannot look at", at: path.appending("\(name)").string, error)
        }
    }

    /// Runs `body` on what `fill` put in a buffer (its count, or -1 with errno set): 1 KiB in the
    /// stack, since sysfs values and link targets are short, and only when that comes back full a
    /// page on the heap, filled again. (A larger buffer in the stack is not promised: Swift may
    /// put it on the heap, and did, for every read of a bus of 4,096 functions.)
    @inlinable
    static func filling<T>(_ fill: (UnsafeMutableRawBufferPointer) -> Int,
                           _ body: (Int, UnsafeMutableRawBufferPointer) throws(Dom0Error) -> T) throws(Dom0Error) -> T {
        try withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 1) { small throws(Dom0Error) in
            let count = fill(small)
            guard count == small.count else { return try body(count, small) }
            let page = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(PATH_MAX), alignment: 1)
            defer { page.deallocate() }
            return try body(fill(page), page)
        }
    }

    /// Writes all of `bytes` to an open descriptor, retrying short writes and interrupts.
    static func writeAll(_ bytes: [UInt8], to fd: FileDescriptor, path: FilePath) throws(Dom0Error) {
        do {
            _ = try bytes.withUnsafeBytes { try fd.writeAll($0) }
        } catch let error as Errno {
            throw .system("cannot write", at: path.string, error)
        } catch {
            throw Dom0Error("cannot write", at: path.string, why: "\(error)")
        }
    }

    /// The target of a symbolic link, or nil when `path` is missing or not a link (one readlink).
    public static func linkTarget(_ path: FilePath) throws(Dom0Error) -> FilePath? {
        if case .link(let target) = try entry(path) { return target }
        return nil
    }

    /// What is at a path, as following links by hand needs it: one readlink says both whether
    /// something is there and whether it is a link (EINVAL: there, not a link).
    public enum Entry: Equatable, Sendable {
        case missing
        case link(FilePath)
        case other
    }

    /// What is at `path`, without following a link in its last component (one readlink).
    public static func entry(_ path: FilePath) throws(Dom0Error) -> Entry {
        switch readLinkOrError(path) {
        case .success(let target): return .link(FilePath(target))
        case .failure(.invalidArgument): return .other
        case .failure(.noSuchFileOrDirectory), .failure(.notDirectory): return .missing
        case .failure(let error): throw .system("cannot inspect", at: path.string, error)
        }
    }

    /// readlink(2): the target as stored, or the errno it failed with.
    private static func readLinkOrError(_ path: FilePath) -> Result<String, Errno> {
        path.withPlatformString { name in
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(PATH_MAX)) { buffer in
                let count = readlink(name, buffer.baseAddress!, buffer.count)
                guard count >= 0 else { return .failure(Errno(rawValue: errno)) }
                return .success(String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), as: UTF8.self))
            }
        }
    }

    /// The target of a symbolic link, as stored.
    public static func readLink(_ path: FilePath) throws(Dom0Error) -> FilePath {
        switch try entry(path) {
        case .link(let target): return target
        case .other: throw .system("cannot read link", at: path.string, .invalidArgument)
        case .missing: throw .system("cannot read link", at: path.string, .noSuchFileOrDirectory)
        }
    }

    /// Renames a file or directory (atomically, within one file system).
    public static func rename(_ source: FilePath, to target: FilePath) throws(Dom0Error) {
        let rc = source.withPlatformString { from in target.withPlatformString { Glibc.rename(from, $0) } }
        guard rc == 0 else { throw .system("cannot rename \(source) to", at: target.string, Errno(rawValue: errno)) }
    }

    /// Creates a directory and its missing parents (like `mkdir -p`).
    /// Returns the directories it made, outermost first (none when `path` existed).
    @discardableResult
    public static func createDirectories(_ path: FilePath, mode: mode_t = 0o755) throws(Dom0Error) -> [FilePath] {
        if let existing = try status(path, followSymlinks: true) {
            guard existing.st_mode & S_IFMT == S_IFDIR else {
                throw Dom0Error("cannot create directory", at: path.string, why: "a file of another kind is in the way")
            }
            return []
        }
        let parent = path.removingLastComponent()
        var made: [FilePath] = []
        if parent != path, !parent.isEmpty { made = try createDirectories(parent, mode: mode) }
        if path.withPlatformString({ mkdir($0, mode) }) != 0 {
            guard errno == EEXIST else { throw .system("cannot create directory", at: path.string, Errno(rawValue: errno)) }
            return made
        }
        return made + [path]
    }

    /// Removes directories that are empty, innermost first (`createDirectories`' list undone);
    /// one that holds anything is left.
    public static func removeEmptyDirectories(_ made: [FilePath]) {
        for directory in made.reversed() { _ = directory.withPlatformString { rmdir($0) } }
    }

    /// Creates a symbolic link at `path` pointing to `target`.
    public static func symlink(_ target: FilePath, at path: FilePath) throws(Dom0Error) {
        let rc = target.withPlatformString { t in path.withPlatformString { Glibc.symlink(t, $0) } }
        guard rc == 0 else { throw .system("cannot create link", at: path.string, Errno(rawValue: errno)) }
    }

    /// Removes a file or link; a missing one is not an error.
    public static func remove(_ path: FilePath) throws(Dom0Error) {
        if path.withPlatformString({ unlink($0) }) != 0, errno != ENOENT {
            throw .system("cannot remove", at: path.string, Errno(rawValue: errno))
        }
    }

    /// Removes a directory tree, not following links out of it (like `rm -rf`).
    public static func removeTree(_ path: FilePath) throws(Dom0Error) {
        guard let info = try status(path) else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in try entries(path) { try removeTree(path.appending(name)) }
            if path.withPlatformString({ rmdir($0) }) != 0 {
                throw .system("cannot remove directory", at: path.string, Errno(rawValue: errno))
            }
        } else {
            try remove(path)
        }
    }

    /// The names in a directory, without "." and ".."; in order unless `sorted` is false (for a
    /// caller that orders them its own way: String order costs a bus of 4,096 functions 2 ms).
    public static func entries(_ path: FilePath, sorted: Bool = true) throws(Dom0Error) -> [String] {
        let descriptor = path.withPlatformString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw .system("cannot list directory", at: path.string, Errno(rawValue: errno)) }
        defer { close(descriptor) }
        let names = try entries(descriptor, named: path)
        return sorted ? names.sorted() : names
    }

    /// The names in an opened directory, without "." and "..", in the kernel's order; `path` names
    /// it in errors.
    public static func entries(_ descriptor: Int32, named path: FilePath) throws(Dom0Error) -> [String] {
        // The stream gets its own descriptor (closedir closes it), read from the start.
        let copy = dup(descriptor)
        guard copy >= 0, let dir = fdopendir(copy) else {
            let error = Errno(rawValue: errno)
            if copy >= 0 { close(copy) }
            throw .system("cannot list directory", at: path.string, error)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        // A dirent is only as long as its name (d_reclen), not sizeof(dirent): read the name in
        // place up to its NUL, never copy the struct (that reads past the last record; found by
        // fuzzing under AddressSanitizer).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19
        while let entry = readdir(dir) {
            let start = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: UInt8.self)
            let name = String(decoding: UnsafeBufferPointer(start: start, count: strlen(UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self))),
                              as: UTF8.self)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Creates a new, private directory under $TMPDIR (or /tmp) named `<prefix>.XXXXXX`.
    public static func makeTemporaryDirectory(prefix: String) throws(Dom0Error) -> FilePath {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) != nil else {
            throw .system("cannot create a temporary directory", at: base, Errno(rawValue: errno))
        }
        return template.withUnsafeBufferPointer { FilePath(String(decoding: $0.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }

    /// A working directory that lives as long as this process: named `PREFIX-PID.XXXXXX` under
    /// $TMPDIR, so that one left by a process that died (SIGKILL, power loss) is recognised and
    /// removed the next time a directory of that prefix is made.
    public static func makeScratchDirectory(prefix: String) throws(Dom0Error) -> FilePath {
        let base = FilePath(getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
        for name in (try? entries(base, sorted: false)) ?? [] where name.hasPrefix(prefix + "-") {
            let owner = name.dropFirst(prefix.count + 1).prefix { $0 != "." }
            if let pid = pid_t(owner), isGone(pid) { try? removeTree(base.appending(name)) }
        }
        return try makeTemporaryDirectory(prefix: "\(prefix)-\(getpid())")
    }

    /// Whether no process has this PID (a temporary it named is left over).
    public static func isGone(_ pid: pid_t) -> Bool {
        pid > 0 && kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Flushes a directory's entries to disk, so a rename in it survives power loss.
    public static func syncDirectory(_ path: FilePath) throws(Dom0Error) {
        let fd = path.withPlatformString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw .system("cannot open directory", at: path.string, Errno(rawValue: errno)) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .system("cannot sync directory", at: path.string, Errno(rawValue: errno)) }
    }
}

extension stat {
    /// Whether this is a directory.
    public var isDirectory: Bool { st_mode & S_IFMT == S_IFDIR }
    /// Whether this is a symbolic link (only meaningful from `lstat`).
    public var isSymlink: Bool { st_mode & S_IFMT == S_IFLNK }
    /// Whether this is a regular file.
    public var isRegularFile: Bool { st_mode & S_IFMT == S_IFREG }
    /// Whether this is a block device.
    public var isBlockDevice: Bool { st_mode & S_IFMT == S_IFBLK }
}
