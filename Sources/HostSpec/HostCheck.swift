import BootConfig
import Dom0Core
import Health
import SuppPack
import SystemPackage

/// `host-prepare check`: the health checks, then whether the host is as the spec says, module by
/// module — a module with changes still to make FAILs, naming them.
public enum HostCheck {
    public static func run(_ spec: HostSpec, _ context: HealthContext) async -> HealthReport {
        var report = await HealthChecks.run(context)
        do {
            // Packs are compared by their metadata with the install records; staging them again
            // (copying every package) only to see they are installed would be waste.
            var rest = spec
            rest.packs = nil
            let plan = try await HostPlanner(root: context.root, runner: context.runner).plan(rest)
            defer { plan.cleanUp() }
            for section in plan.sections {
                report.results.append(section.plan.isEmpty
                    ? CheckResult("spec: \(section.module)", .pass, "as the spec says")
                    : CheckResult("spec: \(section.module)", .fail,
                                  "to do: " + section.plan.changes.map(\.summary).joined(separator: "; ") + " (host-prepare apply)"))
            }
            if let packs = spec.packs { report.results += try packResults(packs, context.root) }
        } catch {
            report.results.append(CheckResult("spec", .fail, error.description))
        }
        return report
    }

    private static func packResults(_ packs: HostSpec.Packs, _ root: HostRoot) throws(Dom0Error) -> [CheckResult] {
        let installed = try PackRecords.all(root)
        var results: [CheckResult] = []
        for source in packs.sources {
            for pack in try PackReader.read(try PackSource.open(FilePath(source))) {
                let what = "spec: pack \(pack.identity)"
                if let record = installed.first(where: { $0.identity == pack.identity }),
                   VersionNumber.compare(record.version, pack.version) >= 0 {
                    results.append(CheckResult(what, .pass, "\(record.version) installed"))
                } else {
                    results.append(CheckResult(what, .fail, "\(pack.version) not installed (host-prepare apply)"))
                }
            }
        }
        return results
    }
}
