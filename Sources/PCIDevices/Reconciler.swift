import Dom0Core
import Logging

/// One hidden device after a pass.
public struct DeviceReport: Sendable, Encodable {
    public var bdf: BDF
    /// Vendor and device names from pci.ids, when known.
    public var name: String?
    /// The rule that hides it.
    public var rule: String
    public var driverBefore: String?
    public var driverAfter: String?
    public var outcome: BindOutcome
    public var message: String
}

/// A reconcile pass over every hidden device.
public struct ReconcileReport: Sendable, TextReport {
    public var devices: [DeviceReport]

    /// Hidden devices (matched by a rule).
    public var hidden: Int { devices.count }
    /// Those on their target driver now.
    public var bound: Int { devices.filter { $0.outcome == .bound || $0.outcome == .alreadyBound }.count }
    /// What systemd's STATUS= and people read: "3 hidden, 3 bound, 0 pending".
    public var summary: String { "\(hidden) hidden, \(bound) bound, \(hidden - bound) pending" }

    /// 1 when a bind failed, 2 when one was refused, else 0.
    public var status: ExitStatus {
        if devices.contains(where: { $0.outcome == .failed }) { return .failed }
        if devices.contains(where: { $0.outcome == .refused }) { return .refused }
        return .success
    }

    /// The whole host after a pass over only `announced` (the devices udev named): their reports
    /// replace the earlier ones, a device no longer there or no longer hidden drops out, and every
    /// other hidden device keeps its last report.
    public func updated(by pass: ReconcileReport, over announced: Set<BDF>) -> ReconcileReport {
        let kept = devices.filter { !announced.contains($0.bdf) }
        return ReconcileReport(devices: (kept + pass.devices).sorted { $0.bdf < $1.bdf })
    }

    /// Each device's outcome, its name and rule, then the summary, for people.
    public var text: String {
        var text = ""
        for device in devices {
            text += "\(device.bdf)  \(device.outcome.rawValue.padding(13))\(device.message)\n"
            if let name = device.name { text += "              \(name) — \(device.rule)\n" }
        }
        return text + summary + "\n"
    }

    private enum Key: String, CodingKey { case devices, hidden, bound, summary }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(devices, forKey: .devices)
        try container.encode(hidden, forKey: .hidden)
        try container.encode(bound, forKey: .bound)
        try container.encode(summary, forKey: .summary)
    }
}

/// Brings every device the rules hide onto its target driver.
public struct Reconciler: Sendable {
    public var binder: Binder
    /// Bind even devices dom0 needs or whose group is not viable.
    public var force: Bool
    /// Plan only: report what would be bound.
    public var dryRun: Bool

    static let logger = Logger(label: "dom0kit.pciback")

    public init(binder: Binder, force: Bool = false, dryRun: Bool = false) {
        self.binder = binder
        self.force = force
        self.dryRun = dryRun
    }

    /// One pass: rules from the config and the running command line (or `rules`), over every
    /// device on the bus, or only over `only` (the devices udev just announced).
    public func reconcile(only: Set<BDF>? = nil, names: PCINames? = nil, rules given: BindRuleSet? = nil)
        async throws(Dom0Error) -> ReconcileReport {
        let clock = ContinuousClock(), started = clock.now
        let root = binder.root
        let rules: BindRuleSet
        if let given { rules = given } else { rules = try BindRules.load(root) }
        let bus = PCIBus(root: root)
        var devices: [PCIDevice] = []
        if let only {
            for bdf in only.sorted() { if let device = try bus.device(bdf) { devices.append(device) } }
        } else {
            devices = try bus.all()
        }
        let targets = devices.compactMap { device in rules.target(for: device).map { (device, $0) } }
        let toBind = targets.filter { $0.0.driver != $0.1.driver.rawValue }.map { (device: $0.0, driver: $0.1.driver) }
        var timing = BindTiming()
        let outcomes = toBind.isEmpty ? [:] : dryRun ? try dryRunOutcomes(toBind) : try await binder.bind(toBind, force: force, timing: &timing)
        // The bind ends here; what follows is the report (names from pci.ids, for people).
        if !dryRun, !toBind.isEmpty { logTiming(clock.now - started, timing, devices: toBind.count) }
        var reports: [DeviceReport] = []
        for (device, rule) in targets {
            let name = names.map { names in
                [names.vendor(device.vendor), names.device(vendor: device.vendor, device: device.device)].compactMap { $0 }
                    .joined(separator: " ")
            }
            let (outcome, message) = outcomes[device.bdf] ?? (.alreadyBound, "already on \(rule.driver)")
            let after: String? = switch outcome {
            case .alreadyBound, .pending, .refused: device.driver
            case .bound: rule.driver.rawValue
            case .vanished: nil
            case .failed: try bus.driver(of: device.bdf)
            }
            reports.append(DeviceReport(bdf: device.bdf, name: name?.isEmpty == false ? name : nil, rule: rule.description,
                                        driverBefore: device.driver, driverAfter: after, outcome: outcome, message: message))
            if !dryRun { log(device.bdf, outcome, message) }
        }
        return ReconcileReport(devices: reports)
    }

    /// Where a bind's time went, from the pass's start to the last driver link seen: the kernel's
    /// writes, waiting for it, and Dom0Kit's own share (reading the bus and the rules, the guards,
    /// looking at the links) against the kernel's time.
    private func logTiming(_ pass: Duration, _ timing: BindTiming, devices: Int) {
        let own = pass - timing.kernel - timing.waiting
        let share = timing.kernel > .zero ? (own / timing.kernel * 100).fixed(1) + " %" : "-"
        let (passMS, kernelMS, waitingMS, ownMS) = (pass.inMilliseconds.fixed(2), timing.kernel.inMilliseconds.fixed(2),
                                                    timing.waiting.inMilliseconds.fixed(2), own.inMilliseconds.fixed(2))
        Self.logger.info("timing: \(devices) devices bound in \(passMS) ms: \(kernelMS) ms in the kernel's writes, \(waitingMS) ms waiting for probes and modules, \(ownMS) ms Dom0Kit's own (\(share) of the kernel's)",
                         metadata: ["devices": "\(devices)", "pass_ms": "\(passMS)", "kernel_ms": "\(kernelMS)",
                                    "waiting_ms": "\(waitingMS)", "own_ms": "\(ownMS)"])
    }

    /// What binding would do, binding nothing: the binder's own refusals (unless forced), else pending.
    private func dryRunOutcomes(_ requests: [(device: PCIDevice, driver: PassthroughDriver)]) throws(Dom0Error) -> [BDF: (BindOutcome, String)] {
        let refused = force ? [:] : try binder.refusals(requests)
        var outcomes: [BDF: (BindOutcome, String)] = [:]
        for (device, driver) in requests {
            outcomes[device.bdf] = refused[device.bdf].map { (.refused, $0.description) } ?? (.pending, "would bind to \(driver) (dry run)")
        }
        return outcomes
    }

    private func log(_ bdf: BDF, _ outcome: BindOutcome, _ message: String) {
        switch outcome {
        case .bound: Self.logger.notice("\(bdf): \(message)", metadata: ["bdf": "\(bdf)", "MESSAGE_ID": "\(MessageID.bound)"])
        case .refused: Self.logger.warning("\(bdf): refused: \(message)", metadata: ["bdf": "\(bdf)", "MESSAGE_ID": "\(MessageID.refused)"])
        case .failed, .vanished: Self.logger.error("\(bdf): \(message)", metadata: ["bdf": "\(bdf)", "MESSAGE_ID": "\(MessageID.failed)"])
        case .alreadyBound, .pending: break
        }
    }
}
