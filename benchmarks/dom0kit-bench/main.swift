// dom0kit-bench: builds the large fake hosts the benchmark scripts measure against, and times
// the library work that has no command of its own. Build it in release mode:
//
//   dom0kit-bench storm VFS                 one reconcile pass binding VFS new VFs on the fake
//                                           kernel, then a pass finding them all bound
//   dom0kit-bench host DIR FUNCTIONS GROUPS a Xen dom0 tree of FUNCTIONS functions in GROUPS
//                                           IOMMU groups, a quarter of the groups hidden
//   dom0kit-bench health DIR                every health check on the tree at DIR, in process
//                                           (the best of 20 runs), and the bus read alone;
//                                           with LAPS=1 in the environment, each check's best first
import Glibc
import BootConfig
import Dom0Core
import FakeHost
import Health
import PCIDevices
import Synchronization
import SystemPackage

/// The i-th function of `count`, 16 to a bus-device pair (devices 0 and 1, functions 0–7).
func address(_ index: Int) -> BDF {
    let bus = index / 16 % 256, device = index % 16 / 8, function = index % 8
    return BDF(domain: UInt16(index / 4096), bus: UInt8(bus), device: UInt8(device), function: UInt8(function))!
}

func milliseconds(_ duration: Duration) -> String { duration.inMilliseconds.fixed(2) + " ms" }

/// The fake kernel, timed: what it spends reacting to writes is the kernel's time, not the agent's.
final class TimedKernel: SysfsWriter {
    let kernel: KernelSimulator
    let spent = Mutex(Duration.zero)
    init(_ kernel: KernelSimulator) { self.kernel = kernel }

    func write(_ value: String, to attribute: FilePath, in root: HostRoot) throws(Dom0Error) -> Duration {
        let start = ContinuousClock.now
        defer { spent.withLock { $0 += ContinuousClock.now - start } }
        return try kernel.write(value, to: attribute, in: root)
    }
}

func storm(_ count: Int) async throws {
    let directory = try FileSystem.makeTemporaryDirectory(prefix: "dom0kit-bench")
    defer { try? FileSystem.removeTree(directory) }
    let host = try FakeHost(at: directory)
    try host.add(.vfioPCI)
    for index in 0..<count {
        try host.add(FakePCIDevice(address(index), vendor: 0x8086, device: 0x1515, classCode: 0x020000, iommuGroup: index))
    }
    try host.write("/etc/dom0kit/pciback.conf", "id 8086:1515 vfio-pci\n")
    let kernel = TimedKernel(KernelSimulator(host))
    let reconciler = Reconciler(binder: Binder(root: host.root, sysfs: kernel))
    let clock = ContinuousClock()
    var report: ReconcileReport?
    let binding = try await clock.measure { report = try await reconciler.reconcile() }
    guard let report, report.bound == count else { fatalError("not all bound: \(report?.summary ?? "")") }
    var again: ReconcileReport?
    let idle = try await clock.measure { again = try await reconciler.reconcile() }
    guard let again, again.devices.allSatisfy({ $0.outcome == .alreadyBound }) else { fatalError("the second pass bound again") }
    let kernelTime = kernel.spent.withLock { $0 }
    print("reconcile \(count) new VFs: \(milliseconds(binding - kernelTime)) of agent overhead (\(milliseconds(binding)) in all, "
          + "\(milliseconds(kernelTime)) in the fake kernel; \(report.summary)); again, all bound: \(milliseconds(idle))")
}

func host(_ directory: FilePath, functions: Int, groups: Int) throws {
    let host = try FakeHost(at: directory)
    try host.makeXenDom0()
    try host.add(FakeDriver("ixgbe", ids: [PCIID(vendor: 0x8086, device: 0x10fb)]))
    try host.add(.pciback)
    var hidden: [String] = []
    for index in 0..<functions {
        let group = index * groups / functions
        let hide = group % 4 == 0
        try host.add(FakePCIDevice(address(index), vendor: 0x8086, device: 0x10fb, classCode: 0x020000,
                                   driver: hide ? "pciback" : "ixgbe", iommuGroup: group))
        if hide { hidden.append(address(index).description) }
    }
    try host.write("/etc/dom0kit/pciback.conf", hidden.map { "\($0) pciback\n" }.joined())
    try host.setKernelCommandLine("root=LABEL=root-dom0kit ro xen-pciback.hide=(\(hidden.prefix(8).joined(separator: ")(")))")
    print("\(directory): \(functions) functions in \(groups) IOMMU groups, \(hidden.count) hidden")
}

func health(_ directory: FilePath) async throws {
    let root = try HostRoot(directory)
    let context = HealthContext(root: root, xen: await XenFacts.read(root, runner: CommandRunner()))
    let clock = ContinuousClock()
    var best = Duration.seconds(3600), bestBus = Duration.seconds(3600)
    var report: HealthReport?, functions = 0
    for _ in 0..<20 {
        best = min(best, await clock.measure { report = await HealthChecks.run(context) })
        bestBus = min(bestBus, try clock.measure { functions = try PCIBus(root: root).all().count })
    }
    if getenv("LAPS") != nil {  // where health's time goes, check by check
        for check in HealthChecks.all {
            var lap = Duration.seconds(3600)
            for _ in 0..<20 { lap = min(lap, await clock.measure { _ = await HealthChecks.run(context, checks: [check]) }) }
            print("  \(check.subject): \(milliseconds(lap))")
        }
    }
    print("health on \(functions) functions: \(milliseconds(best)) for \(report?.results.count ?? 0) lines "
          + "(worst: \(report?.worst.rawValue ?? "")); reading the bus alone: \(milliseconds(bestBus))")
}

let arguments = CommandLine.arguments.dropFirst()
do {
    switch (arguments.first, arguments.count) {
    case ("storm", 2):
        guard let count = Int(arguments.last!), count > 0, count <= 65536 else { fatalError("storm VFS (1–65536)") }
        try await storm(count)
    case ("host", 4):
        let numbers = arguments.dropFirst(2).compactMap { Int($0) }
        guard numbers.count == 2, numbers[0] > 0, numbers[0] <= 65536, numbers[1] > 0, numbers[1] <= numbers[0] else {
            fatalError("host DIR FUNCTIONS GROUPS (GROUPS <= FUNCTIONS <= 65536)")
        }
        try host(FilePath(arguments[arguments.startIndex + 1]), functions: numbers[0], groups: numbers[1])
    case ("health", 2):
        try await health(FilePath(arguments.last!))
    default:
        var standardError = StandardError()
        print("usage: dom0kit-bench storm VFS | host DIR FUNCTIONS GROUPS | health DIR", to: &standardError)
        exit(64)
    }
} catch {
    var standardError = StandardError()
    print("dom0kit-bench: \(error)", to: &standardError)
    exit(1)
}
