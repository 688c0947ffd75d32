import Dom0Core
import SuppPack

/// Installed packs' requirements, still met by what is installed now.
struct PackRequirementsCheck: HealthCheck {
    let subject = "pack requirements"

    func run(_ context: HealthContext) async throws(Dom0Error) -> [CheckResult] {
        let installed = try PackRecords.all(context.root)
        let product = try HostProduct.read(context.root, override: nil)
        return installed.filter { !$0.requires.isEmpty }.map { pack in
            let unmet = PackInstaller.unmet(pack.requires, installed: installed, product: product)
            return unmet.isEmpty ? CheckResult("pack \(pack.identity)", .pass, "requirements met")
                : CheckResult("pack \(pack.identity)", .fail, "unmet: " + unmet.map(\.description).joined(separator: "; "))
        }
    }
}
