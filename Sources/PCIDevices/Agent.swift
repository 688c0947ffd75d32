import Glibc
import Dom0Core
import Logging
import SystemPackage

/// Where signals go: the handler writes the signal number to this pipe end and the loop polls the
/// other. A signal handler may only touch a plain global, hence the one piece of global state.
nonisolated(unsafe) private var signalWriteEnd: Int32 = -1

/// pciback-agent's daemon: one pass at start, then a pass whenever udev announces PCI events,
/// sleeping in poll(2) in between — no timers unless systemd asks for a watchdog.
public struct PcibackAgent: Sendable {
    /// The last pass, for people and scripts.
    public static let statePath: FilePath = "/run/dom0kit/pciback.json"

    public var reconciler: Reconciler
    static let logger = Logger(label: "dom0kit.agent")
    /// How long without events before the daemon counts as at rest.
    static let quietMilliseconds: Int32 = 1000

    public init(reconciler: Reconciler) { self.reconciler = reconciler }

    /// Runs until SIGTERM or SIGINT; SIGHUP reloads the rules (every pass reads them afresh).
    public func run() async throws(Dom0Error) {
        let monitor = try UdevMonitor()  // before the first pass, so no event between them is lost
        let signals = try installSignalHandlers()
        var host = try await pass("start", over: nil)
        SystemdNotify.send("READY=1")
        let watchdog = SystemdNotify.watchdogPeriod
        let timeout = watchdog.map { Int32($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) } ?? -1
        // Code pages start-up or the last burst of passes touched, released once the daemon has been
        // quiet for a second (WorkingSet says why): at rest it holds only its data.
        var codeToRelease = true
        while true {
            var descriptors = [pollfd(fd: monitor.descriptor, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            // The daemon has nothing else to do, so it blocks here, in the kernel, until there is.
            let ready = poll(&descriptors, 2, codeToRelease && (timeout < 0 || timeout > Self.quietMilliseconds) ? Self.quietMilliseconds : timeout)
            if watchdog != nil { SystemdNotify.send("WATCHDOG=1") }
            if ready < 0 && errno != EINTR { throw .system("poll failed", at: "udev monitor", Errno(rawValue: errno)) }
            if ready == 0, codeToRelease {
                WorkingSet.releaseCodePages()
                codeToRelease = false
            }
            if ready > 0 { codeToRelease = true }
            if descriptors[1].revents != 0 {
                var signal: UInt8 = 0
                while read(signals, &signal, 1) == 1 {
                    if Int32(signal) == SIGHUP {
                        Self.logger.notice("SIGHUP: reloading the rules")
                        SystemdNotify.send("RELOADING=1")
                        host = try await pass("reload", over: nil)
                        SystemdNotify.send("READY=1")
                    } else {
                        SystemdNotify.send("STOPPING=1")
                        return
                    }
                }
            }
            if descriptors[0].revents != 0 {
                let (devices, overflowed) = monitor.drain()
                if overflowed {
                    Self.logger.warning("udev events were lost (ENOBUFS): rescanning every device")
                    host = try await pass("rescan", over: nil)
                } else if !devices.isEmpty {
                    host = try await pass("udev", over: devices, updating: host)
                }
            }
        }
    }

    /// One reconcile pass over the devices udev named (or all, when nil); the state written and the
    /// summary sent to systemd describe the whole host (`host`, the last state, updated by the pass).
    private func pass(_ why: String, over devices: Set<BDF>?, updating host: ReconcileReport? = nil)
        async throws(Dom0Error) -> ReconcileReport {
        let pass = try await reconciler.reconcile(only: devices)
        let report = if let devices, let host { host.updated(by: pass, over: devices) } else { pass }
        let root = reconciler.binder.root
        try FileSystem.createDirectories(root.resolve(Self.statePath).removingLastComponent())
        try AtomicWriter.write(Array(try Output.json(report).utf8), to: Self.statePath, in: root)
        SystemdNotify.send("STATUS=\(report.summary)")
        Self.logger.info("pass (\(why)): \(report.summary)")
        return report
    }

    /// Routes SIGHUP, SIGTERM and SIGINT into a pipe; returns its read end.
    private func installSignalHandlers() throws(Dom0Error) -> Int32 {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw .system("cannot make a pipe", at: "signals", Errno(rawValue: errno)) }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        signalWriteEnd = ends[1]
        for signal in [SIGHUP, SIGTERM, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalWriteEnd, &byte, 1)
            }
            sigaction(signal, &action, nil)
        }
        return ends[0]
    }
}
