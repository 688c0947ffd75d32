import Glibc
import ArgumentParser
import Dom0Core
import SuppPack
import SystemPackage

/// `supp-pack`: supplemental packs.
struct SuppPackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supp-pack",
        abstract: Tool.suppPack.summary,
        discussion: """
            A pack is an ISO (read in place: no mount, no loop device) or a directory. Legacy packs \
            carry XS-REPOSITORY and XS-PACKAGES (at the top, in the directories XS-REPOSITORY-LIST \
            names, or in packages, packages.main, packages.linux, packages.site); update-style packs \
            carry update.xml and a yum repository. Every package's size and checksum is verified \
            before anything is installed; requirements are checked against the installed records in \
            /etc/xensource/installed-repos and the host product (/etc/xensource-inventory, \
            /etc/os-release, or --product NAME:VERSION). RPMs install with rpm in one transaction, \
            debs with dpkg; the pack is recorded as XenServer records it.

            Exit status: 0 installed, 1 failed (a damaged pack, a package manager error), 2 refused \
            (incompatible, a requirement unmet, a licence not accepted, a hostile pack), 3 already \
            installed at that version, 64 usage error.
            """,
        version: Dom0Kit.version,
        subcommands: [PackInfo.self, PackVerify.self, PackInstallCommand.self, PackList.self, PackRemove.self])
}

struct PackArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("The pack: an ISO file or a directory.", valueName: "PACK")) var pack: String
    @Option(help: ArgumentHelp("The host's product, instead of reading it from the host.", valueName: "NAME:VERSION"))
    var product: String?

    func source() throws(Dom0Error) -> PackSource { try PackSource.open(FilePath(pack)) }
}

/// Bytes verified and installed, on stderr when it is a terminal.
private func terminalProgress() -> PackProgress? {
    guard isatty(2) == 1 else { return nil }
    return { done, total in
        let percent = total == 0 ? 100 : done * 100 / total
        var standardError = StandardError()
        print("\r  verified \(done >> 20) of \(total >> 20) MiB (\(percent)%)", terminator: done >= total ? "\n" : "", to: &standardError)
    }
}

/// What to do after installing, from after-apply-guidance.
private func guidance(_ packs: [PackMetadata]) -> [String] {
    let words = ["restartHost": "restart the host", "restartXAPI": "restart the toolstack (xe-toolstack-restart)",
                 "restartHVM": "restart HVM guests", "restartPV": "restart PV guests"]
    return Array(Set(packs.flatMap(\.afterApplyGuidance))).sorted().map { words[$0] ?? $0 }
}

struct PackInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show what a pack is, needs and carries.")
    @OptionGroup var host: HostOptions
    @OptionGroup var arguments: PackArguments

    func run() async throws {
        let packs = try PackReader.read(try arguments.source())
        try host.show(report: packs, text: packs.map(\.text).joined())
    }
}

struct PackVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every package's size and checksum.")
    @OptionGroup var host: HostOptions
    @OptionGroup var arguments: PackArguments

    func run() async throws {
        let source = try arguments.source()
        let packs = try PackReader.read(source)
        try PackInstaller(root: try host.hostRoot()).verify(source, packs, progress: terminalProgress())
        let count = packs.reduce(0) { $0 + $1.packages.count }
        try host.show(report: ["verified": count], text: "\(count) package\(count == 1 ? "" : "s") verified\n")
    }
}

struct PackInstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "install", abstract: "Verify and install a pack.")
    @OptionGroup var host: HostOptions
    @OptionGroup var arguments: PackArguments
    @Flag(name: .customLong("accept-eula"), help: "Accept the pack's licence.") var acceptEULA = false
    @Flag(help: "Answer yes: accept the licence.") var yes = false
    @Flag(name: .customLong("dry-run"), help: "Check and verify; install nothing.") var dryRun = false

    func run() async throws {
        let root = try host.hostRoot()
        let source = try arguments.source()
        let progress = host.json ? nil : terminalProgress()
        let product = try arguments.product.map { text throws(Dom0Error) in try HostProduct(parsing: text, option: "--product") }
        let installer = PackInstaller(root: root, productOverride: product, acceptEULA: acceptEULA || yes)
        // Every check made before anything is printed: a refusal prints only the refusal.
        let install = try installer.plan(source, progress: progress)
        try install.requireSomethingToInstall(from: source)
        if dryRun { try installer.verify(source, install.packs, progress: progress) }
        let next = guidance(install.packs)
        try await host.carryOut(install.plan, report: PackInstallReport(packs: install.packs, next: next), dryRun: dryRun) { applied in
            install.packs.map(\.text).joined() + (applied?.text ?? install.plan.text)
                + (applied?.succeeded == true ? next.map { "Next: \($0).\n" }.joined() : "")
        }
    }
}

/// What `install` found: the packs, and what to do after installing them.
struct PackInstallReport: Encodable {
    var packs: [PackMetadata]
    var next: [String]
}

struct PackList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the installed packs.")
    @OptionGroup var host: HostOptions

    func run() async throws {
        let packs = try PackRecords.all(try host.hostRoot())
        try host.show(report: packs, text: packs.map { "\($0.identity.padding(32))\($0.version.padding(12))\($0.description)\n" }.joined())
    }
}

struct PackRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Erase an installed pack's packages and record.")
    @OptionGroup var host: HostOptions
    @Argument(help: ArgumentHelp("The pack's identity.", valueName: "ORIGINATOR:NAME")) var identity: String
    @Flag(name: .customLong("dry-run"), help: "Show what would be removed.") var dryRun = false

    func run() async throws {
        let plan = try PackInstaller(root: try host.hostRoot()).planRemove(try PackIdentity(parsing: identity))
        try await host.carryOut(plan, report: nil, dryRun: dryRun) { $0?.text ?? plan.text }
    }
}
