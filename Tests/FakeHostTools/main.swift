// The tools as tests run them on fake host trees: the same multi-call entry as `dom0kit`, but
// sysfs writes under a FakeHost tree go to its simulated kernel, and `host-prepare apply` can be
// stopped dead after a given step (SIGKILL, as a power cut would) to test the apply journal.
// Test-only: the shipped binary has neither.
import Glibc
import Dom0Core
import Dom0KitCLI
import FakeHost
import TestSupport

@Sendable func simulatedKernel(_ root: HostRoot) throws(Dom0Error) -> any SysfsWriter {
    if let simulator = try KernelSimulator.forTree(at: root) { return simulator }
    return KernelSysfs()
}

let crashAfter = getenv(FakeHostTools.crashAfterStepVariable).flatMap { Int(String(cString: $0)) }

@Sendable func crashInjection(_ step: Int) {
    if step == crashAfter { kill(getpid(), SIGKILL) }
}

let environment = ToolEnvironment(sysfs: simulatedKernel, afterApplyStep: crashInjection)
await ToolEnvironment.$current.withValue(environment) { () async -> Void in await Dom0KitMain.main() }
