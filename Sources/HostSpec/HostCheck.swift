import Dom0Core
import Health
import SuppPack

/// `host-prepare check`: the health checks, then whether the host is as the spec says, module by
/// module — a module with changes still to make FAILs, naming them; a module the spec cannot be
/// applied to (apply would refuse) FAILs with the reason. Packs are judged one by one, by the
/// standing `supp-pack install` and `apply` decide with.
public enum HostCheck {
    public static func run(_ spec: HostSpec, _ context: HealthContext) async -> HealthReport {
        var report = await HealthChecks.run(context)
        let planner = HostPlanner(root: context.root, runner: context.runner)
        for part in HostPart.allCases {
            do {
                if part == .packs, let packs = spec.packs {
                    report.results += try packResults(packs, context.root)
                } else if let section = try await planner.section(part, of: spec) {
                    report.results.append(section.plan.isEmpty
                        ? CheckResult("spec: \(part)", .pass, "as the spec says")
                        : CheckResult("spec: \(part)", .fail,
                                      "to do: " + section.plan.changes.map(\.summary).joined(separator: "; ") + " (host-prepare apply)"))
                }
            } catch {
                report.results.append(CheckResult("spec: \(part)", .fail, error.description))
            }
        }
        return report
    }

    private static func packResults(_ packs: HostSpec.Packs, _ root: HostRoot) throws(Dom0Error) -> [CheckResult] {
        let installed = try PackRecords.all(root)
        var results: [CheckResult] = []
        for source in packs.sources {
            for pack in try PackReader.read(try PackSource.open(source)) {
                let what = "spec: pack \(pack.identity)"
                switch PackStanding(pack, among: installed) {
                case .installed:
                    results.append(CheckResult(what, .pass, "\(pack.version) installed"))
                case .absent, .upgrades:
                    results.append(CheckResult(what, .fail, "\(pack.version) not installed (host-prepare apply)"))
                case .newerInstalled(let version):
                    results.append(CheckResult(what, .fail, "\(version) installed, newer than the spec's \(pack.version): "
                                               + "apply refuses it (remove the newer pack, or name it in the spec)"))
                }
            }
        }
        return results
    }
}
