import Glibc
import SystemPackage

/// The one way Dom0Kit writes a file: a reader sees the whole old content or the whole new
/// content, never a mix, and the new content survives power loss once `write` returns.
///
/// The content goes to a temporary file in the same directory, which is synced and then
/// renamed over the target; the directory is synced last so the rename itself is durable.
/// An existing file keeps its mode and owner; a link is followed and the file it names is replaced.
public enum AtomicWriter {
    /// The suffix of the copy kept by `backup: true`.
    public static let backupSuffix = ".dom0kit-backup"

    /// Replaces (or creates) the host file `hostPath` under `root` with `content`.
    ///
    /// - Parameters:
    ///   - mode: the permission bits of a new file (an existing file keeps its own); 0644 by default.
    ///   - backup: keep the previous content next to it, with `backupSuffix`, written the same safe way.
    public static func write(_ content: [UInt8], to hostPath: FilePath, in root: HostRoot,
                             mode: mode_t? = nil, backup: Bool = false) throws(Dom0Error) {
        let target = try root.resolve(hostPath)
        let existing = try FileSystem.status(target, followSymlinks: true)
        if let existing, !existing.isRegularFile {
            throw Dom0Error(.refused, "refusing to replace something that is not a regular file", at: hostPath.string)
        }
        if backup, existing != nil, let previous = try FileSystem.read(target) {
            try write(previous, toReal: FilePath(target.string + backupSuffix), permissions: existing?.st_mode, owner: existing)
        }
        try write(content, toReal: target, permissions: existing?.st_mode ?? mode ?? 0o644, owner: existing)
    }

    /// Writes a real path: temporary file, fsync, rename, fsync of the directory.
    static func write(_ content: [UInt8], toReal target: FilePath, permissions: mode_t?, owner: stat?) throws(Dom0Error) {
        let directory = target.removingLastComponent()
        guard let name = target.lastComponent?.string else {
            throw Dom0Error(.usage, "cannot write a file without a name", at: target.string)
        }
        removeLeftoverTemporaries(of: name, in: directory)
        var random = SystemRandomNumberGenerator()
        let temporary = directory.appending(".\(name).dom0kit-\(getpid())-\(String(random.next(), radix: 36))")
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(temporary, .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
                                         permissions: FilePermissions(rawValue: 0o600))
        } catch let error as Errno {
            throw .system("cannot create a temporary file beside", at: target.string, error)
        } catch {
            throw Dom0Error("cannot create a temporary file beside", at: target.string, why: "\(error)")
        }
        var renamed = false
        defer {
            try? fd.close()
            if !renamed { try? FileSystem.remove(temporary) }
        }
        try FileSystem.writeAll(content, to: fd, path: temporary)
        if fchmod(fd.rawValue, (permissions ?? 0o644) & 0o7777) != 0 {
            throw .system("cannot set the mode of", at: target.string, Errno(rawValue: errno))
        }
        if let owner, fchown(fd.rawValue, owner.st_uid, owner.st_gid) != 0 {
            throw .system("cannot keep the owner of", at: target.string, Errno(rawValue: errno))
        }
        if fsync(fd.rawValue) != 0 {
            throw .system("cannot sync", at: target.string, Errno(rawValue: errno))
        }
        let rc = temporary.withPlatformString { from in target.withPlatformString { rename(from, $0) } }
        guard rc == 0 else { throw .system("cannot replace", at: target.string, Errno(rawValue: errno)) }
        renamed = true
        try FileSystem.syncDirectory(directory)
    }

    /// Temporary copies of `name` whose writer died before its rename (`.NAME.dom0kit-PID-…` with
    /// no process PID): a killed write is cleaned up by the next write of the same file.
    private static func removeLeftoverTemporaries(of name: String, in directory: FilePath) {
        let prefix = ".\(name).dom0kit-"
        for entry in (try? FileSystem.entries(directory, sorted: false)) ?? [] where entry.hasPrefix(prefix) {
            let owner = entry.dropFirst(prefix.count).prefix { $0 != "-" }
            if let pid = pid_t(owner), FileSystem.isGone(pid) { try? FileSystem.remove(directory.appending(entry)) }
        }
    }

    /// Deletes a host file, durably; a missing file is not an error.
    public static func delete(_ hostPath: FilePath, in root: HostRoot) throws(Dom0Error) {
        let target = try root.resolve(hostPath, followFinalLink: false)
        try FileSystem.remove(target)
        try FileSystem.syncDirectory(target.removingLastComponent())
    }
}
