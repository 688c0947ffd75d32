import Dom0Core

/// What the tools reach outside themselves that a test binary may stand in for: where sysfs
/// writes go, and what happens after each step an apply records. The shipped tools always run
/// with `.system`; only a test binary sets another, for the whole process, around
/// `Dom0KitMain.main`. Nothing here looks at the host tree to decide.
public struct ToolEnvironment: Sendable {
    /// Where sysfs attribute writes under a root go.
    public var sysfs: @Sendable (HostRoot) throws(Dom0Error) -> any SysfsWriter
    /// Called after `host-prepare apply` records step N done (a test's crash injection).
    public var afterApplyStep: (@Sendable (Int) -> Void)?

    /// Creates an environment.
    public init(sysfs: @escaping @Sendable (HostRoot) throws(Dom0Error) -> any SysfsWriter,
                afterApplyStep: (@Sendable (Int) -> Void)? = nil) {
        self.sysfs = sysfs
        self.afterApplyStep = afterApplyStep
    }

    /// The running kernel.
    public static let system = ToolEnvironment(sysfs: { _ in KernelSysfs() })

    /// The environment of the running tool.
    @TaskLocal public static var current: ToolEnvironment = .system
}
