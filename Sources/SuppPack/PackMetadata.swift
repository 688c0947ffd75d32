import Dom0Core

/// The kind of package a pack carries, which decides the package manager that installs it.
public enum PackageType: String, Sendable, Codable, CaseIterable {
    case rpm, deb

    /// The command that installs `files` into the host at `root` in one transaction.
    func installCommand(_ files: [String], root: HostRoot) -> [String] {
        switch self {
        case .deb: ["dpkg"] + (root.isSystem ? [] : ["--root=\(root.path)"]) + ["--install"] + files
        // --replacepkgs: installing again what a cut-short install already installed succeeds.
        case .rpm: ["rpm"] + (root.isSystem ? [] : ["--root", root.path.string]) + ["-Uvh", "--replacepkgs"] + files
        }
    }

    /// The command that erases installed packages by name.
    func eraseCommand(_ names: [String], root: HostRoot) -> [String] {
        switch self {
        case .deb: ["dpkg"] + (root.isSystem ? [] : ["--root=\(root.path)"]) + ["--purge"] + names
        case .rpm: ["rpm"] + (root.isSystem ? [] : ["--root", root.path.string]) + ["-e"] + names
        }
    }

    /// The command that prints a package file's name.
    func nameQuery(_ file: String) -> [String] {
        switch self {
        case .deb: ["dpkg-deb", "--field", file, "Package"]
        case .rpm: ["rpm", "-qp", "--qf", "%{NAME}\\n", file]
        }
    }
}

/// What kind of pack a record or a medium is.
public enum PackKind: String, Sendable, Codable {
    /// XS-REPOSITORY and XS-PACKAGES.
    case legacy
    /// update.xml and a yum repository.
    case update
    /// The host's own product record (xs:main), which no tool installed or removes.
    case xenserver
}

/// A package a pack carries, with what it must be.
public struct PackPackage: Sendable, Codable, Equatable {
    /// Its label (legacy) or name (update-style).
    public var label: String
    public var type: PackageType
    /// Its path in the pack.
    public var file: String
    /// Its size in bytes.
    public var size: UInt64?
    /// Checksum algorithm (md5, sha1, sha256, sha512) and lower-case hex value.
    public var checksumType: String
    public var checksum: String
}

/// A requirement on another installed pack or on the product: `originator:name test version`.
public struct Requirement: Sendable, Codable, Equatable, CustomStringConvertible {
    public var originator: String
    public var name: String
    /// eq, ne, lt, gt, le or ge.
    public var test: String
    public var version: String

    public var description: String { "\(originator):\(name) \(test) \(version)" }
}

/// What a pack is: identity, version, requirements and packages.
public struct PackMetadata: Sendable, Codable {
    public var kind: PackKind
    public var originator: String
    public var name: String
    /// The product it is for (legacy packs).
    public var product: String?
    public var version: String
    public var build: String?
    public var description: String
    public var requires: [Requirement]
    public var packages: [PackPackage]
    /// The licence to accept before installing, if the pack carries one.
    public var eula: String?
    /// What to do after installing (restartHost, restartXAPI, …).
    public var afterApplyGuidance: [String]
    /// An update's UUID.
    public var uuid: String?
    /// Whether every host of a pool must have the update (update-style packs).
    public var enforceHomogeneity: Bool?
    /// Metadata files kept in the install record (name → content).
    public var recordFiles: [String: String]

    /// `originator:name`, the pack's identity in records.
    public var identity: String { "\(originator):\(name)" }
}

/// Reads a pack's metadata as XenServer finds it.
public enum PackReader {
    /// Where XenServer looks for repositories when there is no XS-REPOSITORY-LIST.
    static let repositoryDirectories = ["", "packages", "packages.main", "packages.linux", "packages.site"]

    /// The repositories of a pack: legacy ones, or one update-style repository.
    public static func read(_ source: PackSource) throws(Dom0Error) -> [PackMetadata] {
        let eula = try source.read("EULA").map { String(decoding: $0, as: UTF8.self) }
        if let update = try source.read("update.xml") {
            return [try readUpdate(update, source, eula: eula)]
        }
        var directories = repositoryDirectories
        if let list = try source.read("XS-REPOSITORY-LIST") {
            directories = String(decoding: list, as: UTF8.self).split(separator: "\n").map { $0.trimmingWhitespace }.filter { !$0.isEmpty }
        }
        var packs: [PackMetadata] = []
        for directory in directories {
            let prefix = directory.isEmpty ? "" : try PackSource.clean(directory, in: source.location) + "/"
            guard let repository = try source.read(prefix + "XS-REPOSITORY") else { continue }
            guard let packages = try source.read(prefix + "XS-PACKAGES") else {
                throw Dom0Error(.refused, "the pack has XS-REPOSITORY but no XS-PACKAGES", at: "\(source.location)/\(prefix)",
                                fix: Self.damaged)
            }
            packs.append(try readLegacy(repository, packages, prefix: prefix, source, eula: eula))
        }
        guard !packs.isEmpty else {
            throw Dom0Error(.usage, "not a supplemental pack", at: source.location.string,
                            why: "no XS-REPOSITORY (top level, XS-REPOSITORY-LIST, packages*) and no update.xml",
                            fix: "name the pack's ISO or its unpacked directory")
        }
        return packs
    }

    private static func readLegacy(_ repositoryBytes: [UInt8], _ packagesBytes: [UInt8], prefix: String,
                                   _ source: PackSource, eula: String?) throws(Dom0Error) -> PackMetadata {
        let file = "\(source.location)/\(prefix)"
        let repository = try PackXML.parse(repositoryBytes, file: file + "XS-REPOSITORY")
        guard repository.name == "repository" else { throw malformed(file + "XS-REPOSITORY", "the root element is not <repository>") }
        func attribute(_ element: XMLElement, _ name: String, _ where: String) throws(Dom0Error) -> String {
            guard let value = element.attributes[name], !value.isEmpty else { throw malformed(`where`, "<\(element.name)> lacks \(name)=") }
            return value
        }
        let requires = try repository.children("requires").map { element throws(Dom0Error) in
            let test = try attribute(element, "test", file + "XS-REPOSITORY")
            guard VersionNumber.tests.contains(test) else { throw malformed(file + "XS-REPOSITORY", "unknown test '\(test)'") }
            return Requirement(originator: try attribute(element, "originator", file + "XS-REPOSITORY"),
                               name: try attribute(element, "name", file + "XS-REPOSITORY"), test: test,
                               version: try attribute(element, "version", file + "XS-REPOSITORY"))
        }
        let packagesXML = try PackXML.parse(packagesBytes, file: file + "XS-PACKAGES")
        let packages = try packagesXML.children("package").map { element throws(Dom0Error) in
            let name = element.text.trimmingWhitespace
            let path = try packagePath(name, prefix: prefix, source)
            let md5 = try attribute(element, "md5", file + "XS-PACKAGES").lowercased()
            guard md5.count == 32, md5.allSatisfy(\.isHexDigit) else { throw malformed(file + "XS-PACKAGES", "bad md5 for \(name)") }
            let size: UInt64
            switch UInt64.parseWhole(try attribute(element, "size", file + "XS-PACKAGES")) {
            case .success(let value): size = value
            case .failure(let problem): throw malformed(file + "XS-PACKAGES", "the size of \(name) \(problem.words)")
            }
            let type = element.attributes["type"] ?? "rpm"
            return PackPackage(label: try attribute(element, "label", file + "XS-PACKAGES"),
                               type: type.hasSuffix("deb") ? .deb : .rpm, file: path, size: size, checksumType: "md5", checksum: md5)
        }
        return PackMetadata(
            kind: .legacy, originator: try identityField(try attribute(repository, "originator", file + "XS-REPOSITORY"),
                                                          "originator", file + "XS-REPOSITORY"),
            name: try identityField(try attribute(repository, "name", file + "XS-REPOSITORY"), "name", file + "XS-REPOSITORY"),
            product: repository.attributes["product"],
            version: try attribute(repository, "version", file + "XS-REPOSITORY"), build: repository.attributes["build"],
            description: repository.child("description")?.text.trimmingWhitespace ?? "", requires: requires, packages: packages,
            eula: eula, afterApplyGuidance: [], uuid: nil, enforceHomogeneity: nil,
            recordFiles: ["XS-REPOSITORY": String(decoding: repositoryBytes, as: UTF8.self),
                          "XS-PACKAGES": String(decoding: packagesBytes, as: UTF8.self)])
    }

    private static func readUpdate(_ updateBytes: [UInt8], _ source: PackSource, eula: String?) throws(Dom0Error) -> PackMetadata {
        let file = "\(source.location)/"
        let update = try PackXML.parse(updateBytes, file: file + "update.xml")
        func field(_ name: String) -> String? {
            update.attributes[name] ?? update.child(name)?.text.trimmingWhitespace
        }
        guard let label = field("name-label"), let version = field("version") else {
            throw malformed(file + "update.xml", "<update> lacks name-label or version")
        }
        _ = try identityField(label, "name-label", file + "update.xml")
        guard let repomdBytes = try source.read("repodata/repomd.xml") else {
            throw Dom0Error(.refused, "an update pack without repodata/repomd.xml", at: source.location.string, fix: Self.damaged)
        }
        let repomd = try PackXML.parse(repomdBytes, file: file + "repodata/repomd.xml")
        guard let primary = repomd.children("data").first(where: { $0.attributes["type"] == "primary" }),
              let href = primary.child("location")?.attributes["href"], let sum = primary.child("checksum") else {
            throw malformed(file + "repodata/repomd.xml", "no primary data with a location and checksum")
        }
        let primaryPath = try packagePath(href, prefix: "", source)
        guard let compressed = try source.read(primaryPath, limit: 64 << 20) else {
            throw Dom0Error(.refused, "the pack lacks \(primaryPath)", at: source.location.string, fix: Self.damaged)
        }
        try Checksum.verify(compressed, type: sum.attributes["type"] ?? "sha256", expected: sum.text.trimmingWhitespace,
                            what: "\(source.location)/\(primaryPath)")
        let primaryXML = try PackXML.parse(primaryPath.hasSuffix(".gz") ? try Gunzip.decompress(compressed, file: primaryPath) : compressed,
                                           file: file + primaryPath)
        let packages = try primaryXML.children("package").map { element throws(Dom0Error) in
            guard let name = element.child("name")?.text.trimmingWhitespace, let href = element.child("location")?.attributes["href"],
                  let checksum = element.child("checksum") else {
                throw malformed(file + primaryPath, "a package lacks name, location or checksum")
            }
            return PackPackage(label: name, type: .rpm, file: try packagePath(href, prefix: "", source),
                               size: element.child("size")?.attributes["package"].flatMap { UInt64($0) },
                               checksumType: checksum.attributes["type"] ?? "sha256", checksum: checksum.text.trimmingWhitespace.lowercased())
        }
        let guidance = (field("after-apply-guidance") ?? "").split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        return PackMetadata(
            kind: .update, originator: "update", name: label, product: nil, version: version, build: nil,
            description: field("name-description") ?? "", requires: [], packages: packages, eula: eula,
            afterApplyGuidance: guidance, uuid: field("uuid"), enforceHomogeneity: field("enforce-homogeneity").map { $0 == "true" },
            recordFiles: ["update.xml": String(decoding: updateBytes, as: UTF8.self)])
    }

    /// A package's path in the pack: relative, inside the pack, and present.
    private static func packagePath(_ name: String, prefix: String, _ source: PackSource) throws(Dom0Error) -> String {
        guard !name.isEmpty, !name.hasPrefix("/") else {
            throw Dom0Error(.refused, "refusing a package named outside the pack", at: source.location.string, why: name.quotedForDisplay,
                            fix: Self.hostile)
        }
        let path = try PackSource.clean(prefix + name, in: source.location)
        guard path.hasPrefix(prefix), !name.split(separator: "/").contains("..") else {
            throw Dom0Error(.refused, "refusing a package named outside its repository", at: source.location.string,
                            why: name.quotedForDisplay, fix: Self.hostile)
        }
        guard let entry = source.entries[path], !entry.isDirectory else {
            throw Dom0Error(.refused, "the pack lacks the package \(name.quotedForDisplay)", at: source.location.string, fix: Self.damaged)
        }
        return entry.linkTarget ?? path
    }

    /// A field of a pack's identity (originator, name, an update's name-label) names the directory
    /// of its install record, so it is one plain name: letters, digits and `._+~-`, not starting
    /// with a dot. Anything else (`..`, `/`, `:`, control characters) is refused before it is used.
    public static func identityField(_ value: String, _ what: String, _ file: String) throws(Dom0Error) -> String {
        let allowed = value.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._+~-".unicodeScalars.contains(scalar))
        }
        guard !value.isEmpty, value.count <= 128, allowed, !value.hasPrefix(".") else {
            throw Dom0Error(.refused, "refusing a pack whose \(what) is not a plain name", at: file,
                            why: "\(what)=\(value.quotedForDisplay) must be letters, digits and ._+~- (not starting with '.'), at most 128",
                            fix: Self.hostile)
        }
        return value
    }

    private static func malformed(_ file: String, _ why: String) -> Dom0Error {
        Dom0Error(.refused, "malformed pack metadata", at: file, why: why, fix: damaged)
    }

    /// What to do about a pack that is damaged, or one that tries to reach outside itself.
    static let damaged = "the pack is damaged or incomplete: get a good copy from its vendor"
    static let hostile = "the pack is malformed or hostile: do not install it; ask its vendor for a corrected one"
}

/// gunzip through libarchive (raw format, gzip filter), capped.
enum Gunzip {
    static func decompress(_ bytes: [UInt8], file: String, limit: Int = 64 << 20) throws(Dom0Error) -> [UInt8] {
        let library = try Archive.shared.get()
        guard let archive = library.readNew() else { throw Dom0Error("cannot start libarchive") }
        defer { _ = library.readFree(archive) }
        _ = library.supportGzip(archive)
        _ = library.supportRaw(archive)
        var output: [UInt8] = []
        let failure: String? = bytes.withUnsafeBytes { raw in
            guard library.openMemory(archive, raw.baseAddress, raw.count) == Archive.ok else { return "cannot open" }
            var entry: OpaquePointer?
            guard library.nextHeader(archive, &entry) == Archive.ok else { return "not gzip data" }
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { library.readData(archive, $0.baseAddress, $0.count) }
                if count < 0 { return "corrupt gzip data" }
                if count == 0 { return nil }
                output.append(contentsOf: buffer[0..<count])
                if output.count > limit { return "more than \(limit) bytes uncompressed" }
            }
        }
        if let failure { throw Dom0Error(.refused, "cannot decompress", at: file, why: failure, fix: PackReader.damaged) }
        return output
    }
}
