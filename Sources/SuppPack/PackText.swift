import Dom0Core

extension PackMetadata {
    /// What the pack is, needs and carries, for people (supp-pack info, install).
    public var text: String {
        var text = "\(identity) \(version)\(build.map { " (build \($0))" } ?? "") — \(kind) pack"
        if let product { text += " for \(product)" }
        text += "\n"
        if !description.isEmpty { text += "  \(description)\n" }
        if let uuid { text += "  uuid \(uuid)\(enforceHomogeneity == true ? ", needed on every host of a pool" : "")\n" }
        for requirement in requires { text += "  requires \(requirement)\n" }
        for package in packages { text += "  package \(package.file) (\(package.type), \(package.size.map { "\($0) bytes" } ?? "size unknown"))\n" }
        if let eula { text += "  licence (accept with --accept-eula):\n" + eula.split(separator: "\n").map { "    \($0)\n" }.joined() }
        return text
    }
}
