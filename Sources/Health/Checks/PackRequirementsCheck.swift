import Dom0Core
import SuppPack

/// Installed packs' requirements, still met by what is installed now.
struct PackRequirementsCheck: HealthCheck {
    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let installed = try PackRecords.all(context.root)
        let product = try HostProduct.read(context.root, override: nil)
        return installed.filter { !$0.requires.isEmpty }.map { pack in
            let unmet = pack.requires.filter { requirement in
                let have = installed.first { $0.identity == "\(requirement.originator):\(requirement.name)" }?.version
                    ?? product?.version(for: requirement)
                return !(have.map { VersionNumber.satisfies($0, requirement.test, requirement.version) } ?? false)
            }
            return unmet.isEmpty ? CheckResult("pack \(pack.identity)", .pass, "requirements met")
                : CheckResult("pack \(pack.identity)", .fail, "unmet: " + unmet.map(\.description).joined(separator: "; "))
        }
    }
}
