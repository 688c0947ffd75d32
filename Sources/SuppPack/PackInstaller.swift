import Dom0Core
import FoundationEssentials
import SystemPackage

/// A pack installed on the host, as its record says.
public struct InstalledPack: Sendable, Codable, Equatable {
    public var identity: String
    public var version: String
    public var kind: String
    public var description: String
    public var requires: [Requirement]
    /// The package names the package manager knows them by.
    public var packages: [String]
    /// deb or rpm.
    public var packageType: String
    public var installedAt: String
}

/// Install records in /etc/xensource/installed-repos/<originator>:<name>/, as XenServer keeps
/// them, plus Dom0Kit's own `dom0kit.json`.
public enum PackRecords {
    public static let directory: FilePath = "/etc/xensource/installed-repos"
    static let dom0KitRecord = "dom0kit.json"

    /// Every installed pack: Dom0Kit's records, and XenServer's own (xs:main) read from XS-REPOSITORY.
    public static func all(_ root: HostRoot) throws(Dom0Error) -> [InstalledPack] {
        let real = try root.resolve(directory)
        guard try FileSystem.status(real, followSymlinks: true)?.isDirectory == true else { return [] }
        var packs: [InstalledPack] = []
        // Names starting with "." are records being written (see WritePackRecord), not packs.
        for name in try FileSystem.entries(real) where !name.hasPrefix(".") {
            if let pack = try read(name, root) { packs.append(pack) }
        }
        return packs
    }

    /// One record, or nil when the pack is not installed.
    public static func read(_ identity: String, _ root: HostRoot) throws(Dom0Error) -> InstalledPack? {
        let folder = directory.appending(identity)
        if let bytes = try root.read(folder.appending(dom0KitRecord)) {
            do { return try JSONDecoder().decode(InstalledPack.self, from: Data(bytes)) } catch {
                throw Dom0Error("cannot read the install record", at: folder.appending(dom0KitRecord).string, why: "\(error)")
            }
        }
        guard let bytes = try root.read(folder.appending("XS-REPOSITORY")),
              let repository = try? PackXML.parse(bytes, file: folder.appending("XS-REPOSITORY").string),
              let version = repository.attributes["version"] else { return nil }
        return InstalledPack(identity: identity, version: version, kind: "xenserver", description: "", requires: [],
                             packages: [], packageType: "rpm", installedAt: "")
    }
}

/// Progress of verification and installation, in bytes, for a terminal.
public typealias PackProgress = @Sendable (_ done: UInt64, _ total: UInt64) -> Void

/// What installing a pack would do: the checks passed, the plan, and the staged packages.
public struct PackInstall: Sendable {
    /// The pack's repositories, in install order.
    public var packs: [PackMetadata]
    /// The host's product.
    public var product: HostProduct?
    /// Package manager run and records written.
    public var plan: Plan
    /// Where the verified packages wait (a temporary directory on this machine).
    public var staging: FilePath?

    /// Removes the staged packages.
    public func cleanUp() {
        if let staging { try? FileSystem.removeTree(staging) }
    }
}

/// Reads, verifies, installs and removes packs on a host root.
public struct PackInstaller: Sendable {
    public var root: HostRoot
    /// `--product NAME:VERSION`.
    public var productOverride: String?
    public var acceptEULA: Bool

    public init(root: HostRoot, productOverride: String? = nil, acceptEULA: Bool = false) {
        self.root = root
        self.productOverride = productOverride
        self.acceptEULA = acceptEULA
    }

    /// Every package's size and checksum, streamed; throws at the first mismatch.
    public func verify(_ source: PackSource, _ packs: [PackMetadata], stagingInto staging: FilePath? = nil,
                       progress: PackProgress? = nil) throws(Dom0Error) {
        let packages = packs.flatMap(\.packages)
        let byFile = Dictionary(packages.map { ($0.file, $0) }, uniquingKeysWith: { first, _ in first })
        let total = packages.reduce(UInt64(0)) { $0 + ($1.size ?? source.entries[$1.file]?.size ?? 0) }
        var done: UInt64 = 0
        var checksums: [String: Checksum] = [:]
        var sizes: [String: UInt64] = [:]
        var outputs: [String: FileDescriptor] = [:]
        defer { for output in outputs.values { try? output.close() } }
        for package in packages { checksums[package.file] = try Checksum(package.checksumType) }
        try source.stream(Set(byFile.keys)) { file, chunk throws(Dom0Error) in
            checksums[file]?.update(chunk)
            sizes[file, default: 0] += UInt64(chunk.count)
            if let staging {
                if outputs[file] == nil {
                    let name = file.split(separator: "/").last.map(String.init) ?? file
                    do {
                        outputs[file] = try FileDescriptor.open(staging.appending(name), .writeOnly, options: [.create, .truncate],
                                                                permissions: .ownerReadWrite)
                    } catch { throw Dom0Error("cannot stage \(name)", at: staging.string, why: "\(error)") }
                }
                do { _ = try outputs[file]?.writeAll(chunk) } catch { throw Dom0Error("cannot stage", at: file, why: "\(error)") }
            }
            done += UInt64(chunk.count)
            progress?(done, total)
        }
        for package in packages {
            let actual = checksums[package.file]?.finalize() ?? ""
            if let size = package.size, sizes[package.file, default: 0] != size {
                throw Dom0Error(.failed, "size mismatch", at: "\(source.location)/\(package.file)",
                                why: "expected \(size) bytes, found \(sizes[package.file, default: 0])", fix: "the pack is damaged; get it again")
            }
            guard actual == package.checksum else {
                throw Dom0Error(.failed, "\(package.checksumType) mismatch", at: "\(source.location)/\(package.file)",
                                why: "expected \(package.checksum), found \(actual)", fix: "the pack is damaged; get it again")
            }
        }
    }

    /// Checks product, requirements, version and licence, verifies and stages the packages, and
    /// plans the package manager run and the records. Nothing on the host changes.
    public func prepare(_ source: PackSource, runner: CommandRunner = CommandRunner(),
                        progress: PackProgress? = nil) async throws(Dom0Error) -> PackInstall {
        let packs = try PackReader.read(source)
        let product = try HostProduct.read(root, override: productOverride)
        let installed = try PackRecords.all(root)
        for pack in packs {
            if let wanted = pack.product {
                guard let product else {
                    throw Dom0Error(.usage, "cannot tell this host's product", at: root.path.string,
                                    fix: "pass --product NAME:VERSION (the pack is for \(wanted))")
                }
                guard product.matches(wanted) else {
                    throw Dom0Error(.refused, "\(pack.identity) is for \(wanted), not for this \(product.brand) host",
                                    at: source.location.string, fix: "install the pack built for \(product.brand) \(product.version)")
                }
            }
            let unmet = Self.unmet(pack.requires, installed: installed, product: product)
            guard unmet.isEmpty else {
                throw Dom0Error(.refused, "\(pack.identity) \(pack.version) has unmet requirements", at: source.location.string,
                                why: unmet.map(\.description).joined(separator: "; "), fix: "install what it requires first")
            }
            if let current = installed.first(where: { $0.identity == pack.identity }) {
                let order = VersionNumber.compare(pack.version, current.version)
                if order == 0 {
                    throw Dom0Error(.alreadyInstalled, "\(pack.identity) \(pack.version) is already installed", at: source.location.string,
                                    fix: "nothing to do; supp-pack remove \(pack.identity) first to install it again")
                }
                if order < 0 {
                    throw Dom0Error(.refused, "\(pack.identity) \(current.version) is installed, newer than \(pack.version)",
                                    at: source.location.string, fix: "remove it first to go back")
                }
            }
            if pack.eula != nil && !acceptEULA {
                throw Dom0Error(.refused, "\(pack.identity) carries a licence to accept", at: source.location.string,
                                fix: "read it (supp-pack info) and pass --accept-eula")
            }
        }
        let staging = try FileSystem.makeScratchDirectory(prefix: "dom0kit-pack")
        do {
            try verify(source, packs, stagingInto: staging, progress: progress)
            return PackInstall(packs: packs, product: product, plan: try await plan(packs, staging: staging, runner: runner),
                               staging: staging)
        } catch {
            try? FileSystem.removeTree(staging)
            throw error
        }
    }

    private func plan(_ packs: [PackMetadata], staging: FilePath, runner: CommandRunner) async throws(Dom0Error) -> Plan {
        var plan = Plan()
        let now = Date.now.formatted(.iso8601)
        for pack in packs {
            let files = pack.packages.map { staging.appending($0.file.split(separator: "/").last.map(String.init) ?? $0.file).string }
            let type = pack.packages.first?.type ?? "rpm"
            var names: [String] = []
            for file in files {
                let query = type == "deb" ? ["dpkg-deb", "--field", file, "Package"] : ["rpm", "-qp", "--qf", "%{NAME}\\n", file]
                names.append(try await runner.check(query, effect: .readOnly).stdout.trimmingWhitespace)
            }
            if !files.isEmpty {
                // One transaction: either every package of the pack installs, or none does.
                let argv = type == "deb"
                    ? ["dpkg"] + (root.isSystem ? [] : ["--root=\(root.path)"]) + ["--install"] + files
                    // --replacepkgs: installing again what a cut-short install already installed succeeds.
                    : ["rpm"] + (root.isSystem ? [] : ["--root", root.path.string]) + ["-Uvh", "--replacepkgs"] + files
                plan.add(.tool(argv, module: "pack", summary: "install \(pack.identity) \(pack.version)"))
            }
            let record = InstalledPack(identity: pack.identity, version: pack.version, kind: pack.kind, description: pack.description,
                                       requires: pack.requires, packages: names, packageType: type, installedAt: now)
            var records = pack.recordFiles
            records[PackRecords.dom0KitRecord] = try Output.json(record)
            plan.add(.step(WritePackRecord(identity: pack.identity, files: records), module: "pack",
                           summary: "record \(pack.identity) \(pack.version) as installed"))
        }
        return plan
    }

    /// The requirements neither an installed pack nor the host product satisfies.
    public static func unmet(_ requirements: [Requirement], installed: [InstalledPack], product: HostProduct?) -> [Requirement] {
        requirements.filter { requirement in
            let have = installed.first { $0.identity == "\(requirement.originator):\(requirement.name)" }?.version
                ?? product?.version(for: requirement)
            return !(have.map { VersionNumber.satisfies($0, requirement.test, requirement.version) } ?? false)
        }
    }

    /// Erases a pack's packages and its record; refuses while another installed pack requires it.
    public func planRemove(_ identity: String) throws(Dom0Error) -> Plan {
        let parts = identity.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else {
            throw Dom0Error(.usage, "an installed pack is named ORIGINATOR:NAME", at: identity.quotedForDisplay,
                            fix: "supp-pack list shows the installed packs' names")
        }
        do throws(Dom0Error) {
            _ = try PackReader.identityField(parts[0], "originator", "the pack named")
            _ = try PackReader.identityField(parts[1], "name", "the pack named")
        } catch {
            throw Dom0Error(.usage, "\(identity.quotedForDisplay) is not a pack's name", why: error.why,
                            fix: "supp-pack list shows the installed packs' names")
        }
        guard let pack = try PackRecords.read(identity, root) else {
            throw Dom0Error(.usage, "\(identity) is not installed", at: PackRecords.directory.string, fix: "supp-pack list shows what is")
        }
        guard pack.kind != "xenserver" else {
            throw Dom0Error(.refused, "\(identity) is the host's own product record, not a pack Dom0Kit installed",
                            at: PackRecords.directory.appending(identity).string, fix: "leave it: the host needs it")
        }
        let dependents = try PackRecords.all(root).filter { other in
            other.identity != identity && other.requires.contains { "\($0.originator):\($0.name)" == identity }
        }
        guard dependents.isEmpty else {
            throw Dom0Error(.refused, "\(identity) is required by " + dependents.map(\.identity).joined(separator: ", "),
                            fix: "remove those first")
        }
        var plan = Plan()
        if !pack.packages.isEmpty {
            let argv = pack.packageType == "deb"
                ? ["dpkg"] + (root.isSystem ? [] : ["--root=\(root.path)"]) + ["--purge"] + pack.packages
                : ["rpm"] + (root.isSystem ? [] : ["--root", root.path.string]) + ["-e"] + pack.packages
            plan.add(.tool(argv, module: "pack", summary: "erase the packages of \(identity)"))
        }
        let folder = PackRecords.directory.appending(identity)
        for name in try FileSystem.entries(root.resolve(folder)) {
            plan.add(try Change.delete(folder.appending(name), in: root, module: "pack", summary: "the record of \(identity)"))
        }
        plan.add(.step(RemoveEmptyDirectory(path: folder.string), module: "pack", summary: "the record of \(identity)"))
        return plan
    }
}

/// Writes a pack's install records as one directory renamed into place, after the packages are
/// installed: a crash leaves either no record (installing again does it all, idempotently) or the
/// whole record, never a part that would make the pack look installed.
struct WritePackRecord: PlanStep {
    var identity: String
    /// File name → content: XS-REPOSITORY, XS-PACKAGES (as XenServer keeps them) and dom0kit.json.
    var files: [String: String]

    var kind: String { "recordPack" }
    var details: [String: String] { ["pack": identity, "files": files.keys.sorted().joined(separator: " ")] }
    var headline: String { "write \(PackRecords.directory)/\(identity)/ (\(files.keys.sorted().joined(separator: ", ")))" }

    func apply(_ context: ApplyContext) async throws(Dom0Error) {
        let base = try context.root.resolve(PackRecords.directory)
        let target = base.appending(identity), fresh = base.appending(".\(identity).new"), old = base.appending(".\(identity).old")
        for leftover in [fresh, old] where try FileSystem.status(leftover) != nil { try FileSystem.removeTree(leftover) }
        try FileSystem.createDirectories(fresh)
        let folder = try HostRoot(fresh)
        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            try AtomicWriter.write(Array(content.utf8), to: FilePath("/" + name), in: folder)
        }
        if try FileSystem.status(target) != nil { try FileSystem.rename(target, to: old) }
        try FileSystem.rename(fresh, to: target)
        try FileSystem.syncDirectory(base)
        if try FileSystem.status(old) != nil { try FileSystem.removeTree(old) }
    }
}
