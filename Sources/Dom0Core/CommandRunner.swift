import Glibc
import Logging
import Subprocess
import SystemPackage

/// What a tool run produced.
public struct CommandResult: Sendable, Equatable {
    /// The exact argv that ran (or would have run).
    public var argv: [String]
    /// The exit status; 128 + N when killed by signal N, as shells report it.
    public var status: Int32
    /// Captured standard output.
    public var stdout: String
    /// Captured standard error.
    public var stderr: String
    /// False when dry-run mode recorded the command instead of running it.
    public var executed: Bool

    /// A result as a tool run (or dry run) produced it.
    public init(argv: [String], status: Int32, stdout: String, stderr: String, executed: Bool) {
        self.argv = argv
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.executed = executed
    }

    /// Whether it exited 0.
    public var succeeded: Bool { status == 0 }
}

/// Runs external tools (sfdisk, rpm, update-grub, systemctl, …): argv arrays, never a shell
/// string; output captured; a timeout that kills the child; the argv logged.
public struct CommandRunner: Sendable {
    /// Whether a tool changes the host, which decides what dry-run mode does with it.
    public enum Effect: Sendable {
        /// Only reads (sfdisk --json, xl info): runs even in dry-run mode, since plans need the answers.
        case readOnly
        /// Changes the host: in dry-run mode it is recorded, not run.
        case mutating
    }

    /// Record mutating commands instead of running them.
    public var dryRun: Bool
    /// How long a command may run before it is killed.
    public var timeout: Duration
    /// Variables set (or, with nil, removed) for the child, on top of the inherited environment.
    public var environment: [String: String?]
    /// The most output kept from each stream.
    public var outputLimit: Int

    private let logger = Logger(label: "dom0kit.runner")

    /// A runner; by default it runs for real with a five-minute timeout.
    public init(dryRun: Bool = false, timeout: Duration = .seconds(300), environment: [String: String?] = [:],
                outputLimit: Int = 64 << 20) {
        self.dryRun = dryRun
        self.timeout = timeout
        self.environment = environment
        self.outputLimit = outputLimit
    }

    /// Runs `argv` and returns what it did; a non-zero exit is a result, not an error.
    ///
    /// Throws when the tool cannot be started (with the package that provides it) or times out.
    public func run(_ argv: [String], effect: Effect = .mutating, input: [UInt8]? = nil,
                    timeout: Duration? = nil) async throws(Dom0Error) -> CommandResult {
        guard let program = argv.first, !program.isEmpty else {
            throw Dom0Error(.usage, "cannot run an empty command")
        }
        let shown = argv.joined(separator: " ")
        if dryRun && effect == .mutating {
            logger.info("would run", metadata: ["argv": "\(shown)"])
            return CommandResult(argv: argv, status: 0, stdout: "", stderr: "", executed: false)
        }
        logger.debug("running", metadata: ["argv": "\(shown)"])
        let limit = timeout ?? self.timeout
        // Found once here, then started by its path: one execve, not one attempt per PATH directory.
        guard let executable = program.contains("/") ? FilePath(program) : Self.locate(program, path: searchPath) else {
            throw Dom0Error("cannot run \(program)", at: shown, why: "\(program) is not installed or not on PATH",
                            fix: ToolPackages.installHint(for: program))
        }
        let configuration = Configuration(
            executable: .path(executable),
            arguments: Arguments(Array(argv.dropFirst())),
            environment: .inherit.updating(Dictionary(uniqueKeysWithValues: environment.map {
                (Environment.Key(stringLiteral: $0.key), $0.value)
            }))
        )
        let outputLimit = self.outputLimit
        do {
            let result = try await withThrowingTaskGroup(of: CommandResult?.self) { group in
                group.addTask {
                    let execution = try await Subprocess.run(
                        configuration, input: .array(input ?? []),
                        output: .bytes(limit: outputLimit), error: .bytes(limit: outputLimit))
                    let status: Int32 = switch execution.terminationStatus {
                    case .exited(let code): code
                    case .signaled(let signal): 128 + signal
                    }
                    return CommandResult(argv: argv, status: status,
                                         stdout: String(decoding: execution.standardOutput, as: UTF8.self),
                                         stderr: String(decoding: execution.standardError, as: UTF8.self),
                                         executed: true)
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                // Whichever finishes first wins; cancelling the other kills the child if it is still running.
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let result else {
                throw Dom0Error("timed out after \(limit)", at: shown, fix: "the tool hung; check the device or service it talks to")
            }
            logger.debug("finished", metadata: ["argv": "\(shown)", "status": "\(result.status)"])
            return result
        } catch let error as Dom0Error {
            throw error
        } catch let error as SubprocessError where error.code == .init(.executableNotFound) {
            throw Dom0Error("cannot run \(program)", at: shown, why: "\(program) is not installed or not on PATH",
                            fix: ToolPackages.installHint(for: program))
        } catch {
            throw Dom0Error("cannot run \(program)", at: shown, why: "\(error)")
        }
    }

    /// Runs `argv` and throws, with its exit status and stderr, unless it exits 0.
    @discardableResult
    public func check(_ argv: [String], effect: Effect = .mutating, input: [UInt8]? = nil,
                      timeout: Duration? = nil) async throws(Dom0Error) -> CommandResult {
        let result = try await run(argv, effect: effect, input: input, timeout: timeout)
        guard result.succeeded else {
            let stderr = result.stderr.trimmingTrailingWhitespace
            throw Dom0Error("\(argv[0]) failed", at: argv.joined(separator: " "),
                            why: "exit status \(result.status)" + (stderr.isEmpty ? "" : ": \(stderr)"))
        }
        return result
    }
}

/// Which Debian package provides each tool Dom0Kit runs, for "not installed" errors.
public enum ToolPackages {
    static let packages: [String: String] = [
        "sfdisk": "fdisk", "losetup": "mount", "mkfs.ext4": "e2fsprogs", "debugfs": "e2fsprogs",
        "mkfs.vfat": "dosfstools", "mkswap": "util-linux", "partx": "util-linux", "blkid": "util-linux", "wipefs": "util-linux", "rpm": "rpm", "rpmbuild": "rpm", "dpkg": "dpkg",
        "dpkg-deb": "dpkg", "xorriso": "xorriso", "grub-script-check": "grub-common",
        "grub-mkconfig": "grub2-common", "update-grub": "grub2-common", "systemctl": "systemd",
        "systemd-analyze": "systemd", "udevadm": "udev", "modprobe": "kmod", "xl": "xen-utils",
        "umockdev-wrapper": "umockdev", "strip": "binutils",
    ]

    /// "install it with: apt-get install PACKAGE", or a generic hint for tools not in the table.
    public static func installHint(for program: String) -> String {
        let name = FilePath(program).lastComponent?.string ?? program
        if let package = packages[name] { return "install it with: apt-get install \(package)" }
        return "install \(name), or put it on PATH"
    }
}


extension CommandRunner {
    /// The PATH a tool is looked up in: the child's, when the runner sets one, else this process's.
    var searchPath: String? {
        if let value = environment["PATH"] { return value }
        return getenv("PATH").map { String(cString: $0) }
    }

    /// The first executable called `name` in `path` (this process's PATH by default), as the runner starts it.
    public static func locate(_ name: String, path: String? = getenv("PATH").map { String(cString: $0) }) -> FilePath? {
        let path = path ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = FilePath(String(directory)).appending(name)
            var status = stat()
            guard candidate.withPlatformString({ stat($0, &status) }) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            if candidate.withPlatformString({ access($0, X_OK) }) == 0 { return candidate }
        }
        return nil
    }
}
