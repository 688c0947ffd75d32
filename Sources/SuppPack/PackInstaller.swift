import Dom0Core
import FoundationEssentials
import SystemPackage

/// A pack installed on the host, as its record says.
public struct InstalledPack: Sendable, Codable, Equatable {
    public var identity: String
    public var version: String
    public var kind: PackKind
    public var description: String
    public var requires: [Requirement]
    /// The package names the package manager knows them by.
    public var packages: [String]
    public var packageType: PackageType
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
        // Names starting with "." are records being written (see InstallPack.writeRecord), not packs.
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
        return InstalledPack(identity: identity, version: version, kind: .xenserver, description: "", requires: [],
                             packages: [], packageType: .rpm, installedAt: "")
    }
}

/// Progress of verification and installation, in bytes, for a terminal.
public typealias PackProgress = @Sendable (_ done: UInt64, _ total: UInt64) -> Void

/// Where a pack stands against the host's install records: the one decision that planning,
/// applying, `host-prepare check` and supp-pack's exit status 3 share.
public enum PackStanding: Sendable, Equatable {
    /// Not installed: install it.
    case absent
    /// An older version is installed: this one upgrades it.
    case upgrades(installed: String)
    /// This version is installed: nothing to do.
    case installed
    /// A newer version is installed: refused (remove it first to go back).
    case newerInstalled(String)

    /// The standing of `pack` among the installed packs.
    public init(_ pack: PackMetadata, among installed: [InstalledPack]) {
        guard let current = installed.first(where: { $0.identity == pack.identity }) else {
            self = .absent
            return
        }
        let order = VersionNumber.compare(pack.version, current.version)
        self = order == 0 ? .installed : order > 0 ? .upgrades(installed: current.version) : .newerInstalled(current.version)
    }

    /// Whether applying installs the pack.
    public var installs: Bool {
        switch self {
        case .absent, .upgrades: true
        case .installed, .newerInstalled: false
        }
    }
}

/// What installing a pack would do: each repository's standing, and the plan. Nothing is read
/// from the packages until the plan is applied (verified and staged then, by `InstallPack`).
public struct PackInstall: Sendable {
    /// The pack's repositories, in install order.
    public var packs: [PackMetadata]
    /// Each repository's standing, in the same order.
    public var standings: [PackStanding]
    /// The host's product.
    public var product: HostProduct?
    /// Package manager runs and records written.
    public var plan: Plan

    /// The repositories already installed at their version.
    public var alreadyInstalled: [PackMetadata] {
        zip(packs, standings).filter { $0.1 == .installed }.map(\.0)
    }

    /// Throws exit status 3 when every repository is installed already, as XenServer's installer does.
    public func requireSomethingToInstall(from source: PackSource) throws(Dom0Error) {
        guard plan.isEmpty, let pack = alreadyInstalled.first else { return }
        throw Dom0Error(.alreadyInstalled, "\(pack.identity) \(pack.version) is already installed", at: source.location.string,
                        fix: "nothing to do; supp-pack remove \(pack.identity) first to install it again")
    }
}

/// A pack's identity, `ORIGINATOR:NAME` as supp-pack list shows it: two plain names, since they
/// name the directory of its install record.
public struct PackIdentity: Sendable, Hashable, CustomStringConvertible {
    public let originator: String
    public let name: String

    /// Parses `ORIGINATOR:NAME`, refusing anything else as a usage error.
    public init(parsing text: String) throws(Dom0Error) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else {
            throw Dom0Error(.usage, "an installed pack is named ORIGINATOR:NAME", at: text.quotedForDisplay,
                            fix: "supp-pack list shows the installed packs' names")
        }
        do throws(Dom0Error) {
            originator = try PackReader.identityField(parts[0], "originator", "the pack named")
            name = try PackReader.identityField(parts[1], "name", "the pack named")
        } catch {
            throw Dom0Error(.usage, "\(text.quotedForDisplay) is not a pack's name", why: error.why,
                            fix: "supp-pack list shows the installed packs' names")
        }
    }

    public var description: String { "\(originator):\(name)" }
}

extension Setting {
    public static let product = Setting(commandLine: "pass --product NAME:VERSION")
    public static let acceptEULA = Setting(commandLine: "pass --accept-eula", spec: "set packs.accept_eula: true")
}

/// Reads, verifies, installs and removes packs on a host root.
public struct PackInstaller: Sendable {
    public var root: HostRoot
    /// `--product NAME:VERSION`.
    public var productOverride: HostProduct?
    public var acceptEULA: Bool

    public init(root: HostRoot, productOverride: HostProduct? = nil, acceptEULA: Bool = false) {
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
                    let name = InstallPack.stagedName(file)
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

    /// Checks product, requirements, version and licence and plans, for each repository not yet
    /// installed, its installation (`InstallPack`). Nothing on the host or this machine changes.
    public func plan(_ source: PackSource, progress: PackProgress? = nil) throws(Dom0Error) -> PackInstall {
        let packs = try PackReader.read(source)
        let product = try HostProduct.read(root, override: productOverride)
        let installed = try PackRecords.all(root)
        let standings = packs.map { PackStanding($0, among: installed) }
        var plan = Plan()
        for (pack, standing) in zip(packs, standings) {
            if case .newerInstalled(let version) = standing {
                throw Dom0Error(.refused, "\(pack.identity) \(version) is installed, newer than \(pack.version)",
                                at: source.location.string, fix: "remove it first to go back")
            }
            guard standing.installs else { continue }
            if let wanted = pack.product {
                guard let product else {
                    throw Dom0Error(.usage, "cannot tell this host's product", at: root.path.string,
                                    fix: "\(set: .product) (the pack is for \(wanted))")
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
            if pack.eula != nil && !acceptEULA {
                throw Dom0Error(.refused, "\(pack.identity) carries a licence to accept", at: source.location.string,
                                fix: "read it (supp-pack info) and \(set: .acceptEULA)")
            }
            plan.add(.step(InstallPack(source: source.location, pack: pack, progress: progress), part: .packs,
                           summary: "install \(pack.identity) \(pack.version)"))
        }
        return PackInstall(packs: packs, standings: standings, product: product, plan: plan)
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
    public func planRemove(_ pack: PackIdentity) throws(Dom0Error) -> Plan {
        let identity = pack.description
        guard let pack = try PackRecords.read(identity, root) else {
            throw Dom0Error(.usage, "\(identity) is not installed", at: PackRecords.directory.string, fix: "supp-pack list shows what is")
        }
        guard pack.kind != .xenserver else {
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
            plan.add(.tool(pack.packageType.eraseCommand(pack.packages, root: root), part: .packs,
                           summary: "erase the packages of \(identity)"))
        }
        let folder = PackRecords.directory.appending(identity)
        for name in try FileSystem.entries(root.resolve(folder)) {
            plan.add(try Change.delete(folder.appending(name), in: root, part: .packs, summary: "the record of \(identity)"))
        }
        plan.add(.step(RemoveEmptyDirectory(path: folder.string), part: .packs, summary: "the record of \(identity)"))
        return plan
    }
}

/// Installs one repository of a pack when applied: its packages verified (size and checksum)
/// while they are staged on this machine, installed in one package manager transaction, then the
/// install record written as one directory renamed into place. A crash leaves either no record
/// (applying again installs it all, idempotently) or the whole record, never a part that would
/// make the pack look installed.
public struct InstallPack: PlanStep {
    /// The pack's medium (an ISO or a directory on this machine).
    public var source: FilePath
    public var pack: PackMetadata
    /// Bytes verified, for a terminal.
    public var progress: PackProgress?

    public var kind: String { "installPack" }
    public var details: [String: String] {
        ["pack": pack.identity, "version": pack.version, "source": source.string,
         "packages": pack.packages.map(\.file).joined(separator: " ")]
    }
    public var headline: String {
        "verify and install \(pack.identity) \(pack.version) from \(source) ("
            + (pack.packages.isEmpty ? "no packages" : pack.packages.map(\.file).joined(separator: ", "))
            + "), then write \(PackRecords.directory)/\(pack.identity)/"
    }

    public func apply(_ context: ApplyContext) async throws(Dom0Error) {
        let staging = try FileSystem.makeScratchDirectory(prefix: "dom0kit-pack")
        defer { try? FileSystem.removeTree(staging) }
        let source = try PackSource.open(self.source)
        try PackInstaller(root: context.root).verify(source, [pack], stagingInto: staging, progress: progress)
        let type = pack.packages.first?.type ?? .rpm
        let files = pack.packages.map { staging.appending(Self.stagedName($0.file)).string }
        var names: [String] = []
        for file in files {
            names.append(try await context.runner.check(type.nameQuery(file), effect: .readOnly).stdout.trimmingWhitespace)
        }
        if !files.isEmpty { try await context.runner.check(type.installCommand(files, root: context.root)) }
        let record = InstalledPack(identity: pack.identity, version: pack.version, kind: pack.kind, description: pack.description,
                                   requires: pack.requires, packages: names, packageType: type,
                                   installedAt: Date.now.formatted(.iso8601))
        var records = pack.recordFiles
        records[PackRecords.dom0KitRecord] = try Output.json(record)
        try Self.writeRecord(pack.identity, records, in: context.root)
    }

    /// A package's file name in the staging directory.
    static func stagedName(_ file: String) -> String {
        file.split(separator: "/").last.map(String.init) ?? file
    }

    /// Writes the record files (XS-REPOSITORY, XS-PACKAGES as XenServer keeps them, and
    /// dom0kit.json) into a fresh directory, then renames it into place.
    static func writeRecord(_ identity: String, _ files: [String: String], in root: HostRoot) throws(Dom0Error) {
        let base = try root.resolve(PackRecords.directory)
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
