import BootConfig
import Dom0Core

/// A check's verdict.
public enum CheckStatus: String, Sendable, Encodable, Comparable {
    case pass = "PASS", warn = "WARN", fail = "FAIL"

    public static func < (a: CheckStatus, b: CheckStatus) -> Bool {
        let order: [CheckStatus] = [.pass, .warn, .fail]
        return (order.firstIndex(of: a) ?? 0) < (order.firstIndex(of: b) ?? 0)
    }
}

/// One line of a health report.
public struct CheckResult: Sendable, Encodable, Equatable {
    /// What was checked ("running as Xen dom0").
    public var what: String
    public var status: CheckStatus
    /// Why, or what to do.
    public var hint: String?

    public init(_ what: String, _ status: CheckStatus, _ hint: String? = nil) {
        self.what = what
        self.status = status
        self.hint = hint
    }

    /// A check whose source is missing says so; it never guesses PASS.
    public static func cannotTell(_ what: String, _ why: String) -> CheckResult {
        CheckResult(what, .warn, "cannot tell: \(why)")
    }
}

/// Everything a check may look at.
public struct HealthContext: Sendable {
    public var root: HostRoot
    public var runner: CommandRunner
    public var xen: XenFacts

    public init(root: HostRoot, runner: CommandRunner = CommandRunner(), xen: XenFacts) {
        self.root = root
        self.runner = runner
        self.xen = xen
    }

    /// Whether the root is a Xen dom0.
    public var isXenDom0: Bool {
        get throws(Dom0Error) { try HostFacts.isXenDom0(root) }
    }
}

/// One health check: one small type, one file; adding a check is adding one.
public protocol HealthCheck: Sendable {
    /// What it checks, as a report line names it ("hidden devices"): the line that says it could not run.
    var subject: String { get }
    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult]
}

/// Every check, in the order the report shows them.
public enum HealthChecks {
    public static let all: [any HealthCheck] = [
        XenDom0Check(), VirtualisationCheck(), IOMMUCheck(), InterruptRemappingCheck(), GuestNetworkCheck(),
        CgroupControllersCheck(), BootCommandLineCheck(), Dom0MemoryCheck(), Dom0CPUsCheck(), Dom0SchedCheck(),
        HugepagesCheck(),
        HiddenDevicesCheck(), Dom0AccessCheck(), ControlSliceCheck(), DeviceModelCheck(), DiskLayoutCheck(), Dom0DisksCheck(),
        PackRequirementsCheck(),
    ]

    /// Runs every check; a check that cannot run at all says so as a FAIL with its error.
    public static func run(_ context: HealthContext, checks: [any HealthCheck] = all) async -> HealthReport {
        var results: [CheckResult] = []
        for check in checks {
            do {
                results += try await check.run(context)
            } catch {
                results.append(CheckResult(check.subject, .fail, error.description))
            }
        }
        return HealthReport(results: results)
    }
}

/// The report: virt-host-validate-style lines, and JSON.
public struct HealthReport: Sendable, TextReport {
    public var results: [CheckResult]

    /// FAIL if anything failed.
    public var worst: CheckStatus { results.map(\.status).max() ?? .pass }

    /// "  Dom0Kit: Checking <what>  : PASS (hint)" lines, the colons aligned.
    public var text: String {
        let width = (results.map { $0.what.count }.max() ?? 0) + 2
        return results.map { result in
            let what = result.what + String(repeating: " ", count: max(0, width - result.what.count))
            return "  Dom0Kit: Checking \(what): \(result.status.rawValue)" + (result.hint.map { " (\($0))" } ?? "") + "\n"
        }.joined()
    }
}
