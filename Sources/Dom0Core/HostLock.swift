import Glibc
import SystemPackage

/// One change to a host at a time: an exclusive `flock(2)` on the host root directory itself.
/// Nothing is written to the tree (a refusal leaves it byte-identical), every front end and every
/// root (`/` or a tree) is covered by the same rule, and the kernel drops the lock when its holder
/// dies, so a killed apply never leaves a stale lock behind.
public final class HostLock {
    private let descriptor: FileDescriptor

    /// Takes the lock of `root`, or refuses when another process holds it (after `patience`).
    public init(_ root: HostRoot) throws(Dom0Error) {
        let opened = root.path.withPlatformString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard opened >= 0 else {
            throw .system("cannot open the host root to lock it", at: root.path.string, Errno(rawValue: errno))
        }
        descriptor = FileDescriptor(rawValue: opened)
        // A lock released a moment ago may live on briefly in a child another thread is forking
        // (its copy of the descriptor lasts until its exec closes it): wait out such moments, up
        // to `patience`, then refuse.
        var result: Int32
        var waited: Duration = .zero
        while true {
            result = flock(opened, LOCK_EX | LOCK_NB)
            guard result != 0, errno == EINTR || (errno == EWOULDBLOCK && waited < Self.patience) else { break }
            if errno == EWOULDBLOCK {
                usleep(20_000)
                waited += .milliseconds(20)
            }
        }
        guard result == 0 else {
            let error = Errno(rawValue: errno)
            try? descriptor.close()
            if error == .wouldBlock {
                throw Dom0Error(.refused, "another Dom0Kit command is changing this host", at: root.path.string,
                                why: "it holds the host's lock (an apply, install or first boot still running)",
                                fix: "wait for it to finish, then run this again: it will plan from what that one left")
            }
            throw .system("cannot lock the host root", at: root.path.string, error)
        }
    }

    deinit { try? descriptor.close() }

    /// How long a held lock is waited for before the refusal: moments, not another apply's minutes.
    static let patience: Duration = .seconds(2)
}

extension HostRoot {
    /// Runs `body` holding this root's `HostLock`: what plans and applies changes to the host.
    public func whileLocked<T>(_ body: () async throws(Dom0Error) -> T) async throws(Dom0Error) -> T {
        let lock = try HostLock(self)
        defer { withExtendedLifetime(lock) {} }
        return try await body()
    }
}
