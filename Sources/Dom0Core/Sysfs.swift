import Glibc
import SystemPackage

/// Writes sysfs attributes. The kernel reacts to these writes (binding a driver, creating
/// VFs), so they are not file updates: no temporary file, no rename, just one `write(2)`.
///
/// Production uses `KernelSysfs`; a fake host tree uses a simulator that writes the same way
/// and then does what the kernel would.
public protocol SysfsWriter: Sendable {
    /// Writes `value` to the attribute at host path `attribute` under `root`; returns the time the
    /// kernel spent on it (the write call itself: a bind's probe runs before it returns).
    @discardableResult
    func write(_ value: String, to attribute: FilePath, in root: HostRoot) throws(Dom0Error) -> Duration

    /// The same, one of a run of writes: `directories` are the real directories earlier writes of
    /// the run walked (where the kernel cannot keep the lookup beneath the root), so each is
    /// looked at once per run.
    @discardableResult
    func write(_ value: String, to attribute: FilePath, in root: HostRoot, directories: inout Set<FilePath>) throws(Dom0Error) -> Duration
}

extension SysfsWriter {
    @discardableResult
    public func write(_ value: String, to attribute: FilePath, in root: HostRoot, directories: inout Set<FilePath>)
        throws(Dom0Error) -> Duration {
        try write(value, to: attribute, in: root)
    }
}

/// The real kernel: open the attribute (it must exist) the way every host path is opened
/// (`HostRoot`: beneath the root), write the value once, report errno.
public struct KernelSysfs: SysfsWriter {
    /// Creates the writer.
    public init() {}

    @discardableResult
    public func write(_ value: String, to attribute: FilePath, in root: HostRoot) throws(Dom0Error) -> Duration {
        var directories: Set<FilePath> = []
        return try write(value, to: attribute, in: root, directories: &directories)
    }

    /// `O_TRUNC` is harmless on sysfs and makes a plain file in a fake tree hold exactly the last value.
    @discardableResult
    public func write(_ value: String, to attribute: FilePath, in root: HostRoot, directories: inout Set<FilePath>)
        throws(Dom0Error) -> Duration {
        let descriptor: Int32?
        do {
            descriptor = try root.open(attribute, entry: nil, O_WRONLY | O_TRUNC, directories: &directories)
        } catch {
            // The open's errno, told as the write it stopped ("cannot write "1" to …: permission denied").
            throw error.errno.map { Self.attributeError(value, attribute, $0) } ?? error
        }
        guard let descriptor else { throw Self.attributeError(value, attribute, .noSuchFileOrDirectory) }
        defer { close(descriptor) }
        return try Self.write(value, to: descriptor, hostPath: attribute)
    }

    /// Opens an existing attribute at a real path (a fake tree's simulated kernel), without
    /// creating it, and writes `value` as `write(_:to:in:)` does.
    @discardableResult
    public static func writeAttribute(_ value: String, to real: FilePath, hostPath: FilePath) throws(Dom0Error) -> Duration {
        let fd = real.withPlatformString { open($0, O_WRONLY | O_TRUNC | O_CLOEXEC) }
        guard fd >= 0 else { throw attributeError(value, hostPath, Errno(rawValue: errno)) }
        defer { close(fd) }
        return try write(value, to: fd, hostPath: hostPath)
    }

    /// Writes `value` in one call to an opened attribute; returns how long the call took: the
    /// kernel's reaction to it.
    private static func write(_ value: String, to fd: Int32, hostPath: FilePath) throws(Dom0Error) -> Duration {
        let bytes = Array(value.utf8)
        let clock = ContinuousClock(), start = clock.now
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let spent = clock.now - start
        if written < 0 { throw attributeError(value, hostPath, Errno(rawValue: errno)) }
        if written != bytes.count {
            throw Dom0Error("short write of \"\(value)\"", at: hostPath.string,
                            why: "the kernel took \(written) of \(bytes.count) bytes")
        }
        return spent
    }

    /// The error for a failed attribute write, naming the value and the attribute.
    public static func attributeError(_ value: String, _ attribute: FilePath, _ error: Errno) -> Dom0Error {
        let fix: String? = switch error {
        case .noSuchFileOrDirectory, .operationNotSupportedByDevice: "the device or driver is gone, or this kernel lacks the attribute"
        case .resourceBusy: "the device is in use; retry once it is released"
        default: nil
        }
        return .system("cannot write \"\(value)\" to", at: attribute.string, error, fix: fix)
    }
}
