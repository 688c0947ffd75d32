import BootConfig
import Dom0Core

/// Domain-0's weight (and cap) in Xen's running scheduler against /etc/dom0kit/dom0-sched.conf;
/// silent when nothing is configured.
struct Dom0SchedCheck: HealthCheck {
    let subject = "Domain-0 weight"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let what = subject
        let wanted: Dom0Sched
        do {
            guard let configured = try Dom0Sched.load(context.root) else { return [] }
            wanted = configured
        } catch {
            return [CheckResult(what, .fail, error.description)]
        }
        guard context.xen.info != nil else { return [.cannotTell(what, context.xen.unavailable ?? "xl info gave nothing")] }
        let scheduler: WeightedScheduler
        do { scheduler = try WeightedScheduler.running(context.xen) } catch { return [CheckResult(what, .fail, error.description)] }
        guard let live = context.xen.dom0Sched else {
            return [.cannotTell(what, "xl \(scheduler.command) -d 0 gave nothing")]
        }
        let shown = "weight \(live.weight)" + (live.cap.map { ", cap \($0)" } ?? "") + " in \(scheduler.rawValue)"
        return [wanted.isMet(by: live)
            ? CheckResult(what, .pass, shown)
            : CheckResult(what, .fail, "\(shown), configured \(wanted.summary); host-prepare dom0-sched apply sets it "
                          + "(\(Dom0Sched.unit) does at boot)")]
    }
}
