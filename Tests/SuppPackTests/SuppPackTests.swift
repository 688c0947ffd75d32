import Dom0Core
import SuppPack
import SystemPackage
import Testing
import TestSupport

/// Installs through the library as the CLI does: plan (checks), exit 3 when all is installed,
/// apply (verify, stage, install, record).
@discardableResult
func install(_ pack: FilePath, on host: PackHost, acceptEULA: Bool = false, product: String? = nil) async throws -> PackInstall {
    let override = try product.map { try HostProduct(parsing: $0, option: "--product") }
    let installer = PackInstaller(root: host.root, productOverride: override, acceptEULA: acceptEULA)
    let source = try PackSource.open(pack)
    let prepared = try installer.plan(source)
    try prepared.requireSomethingToInstall(from: source)
    let report = await prepared.plan.apply(ApplyContext(root: host.root))
    if let error = report.error { throw error }
    return prepared
}

@Suite("supp-pack installs real packs into a root")
struct SuppPackTests {
    @Test func aGoodLegacyISOInstallsAndIsRecorded() async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        let pack = try await factory.legacyPack("driver", version: "1.0",
                                                requires: ["<requires originator=\"xs\" name=\"main\" test=\"ge\" version=\"8.2\"/>"],
                                                packages: [try await factory.rpm("dom0kit-test-driver", "1.0"),
                                                           try await factory.rpm("dom0kit-test-tools", "1.0")])
        let iso = try await factory.iso(pack)
        let prepared = try await install(iso, on: host)
        #expect(prepared.packs.map(\.identity) == ["vendor:driver"])
        #expect(try await host.rpmVersion("dom0kit-test-driver") == "1.0")
        #expect(try await host.rpmVersion("dom0kit-test-tools") == "1.0")
        #expect(try host.root.readText("/usr/share/dom0kit-test/dom0kit-test-driver") == "dom0kit-test-driver-1.0\n")
        let record = "/etc/xensource/installed-repos/vendor:driver"
        #expect(try host.root.readText(FilePath(record + "/XS-REPOSITORY"))?.contains("name=\"driver\"") == true)
        #expect(try host.root.exists(FilePath(record + "/XS-PACKAGES")))
        let installed = try #require(try PackRecords.read("vendor:driver", host.root))
        #expect(installed.version == "1.0")
        #expect(installed.packages == ["dom0kit-test-driver", "dom0kit-test-tools"])
        #expect(try PackRecords.all(host.root).map(\.identity) == ["vendor:driver", "xs:main"])
    }

    @Test func aGoodUpdatePackInstallsAfterItsChecksums() async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        let rpm = try await factory.rpm("dom0kit-test-hotfix", "2.1")
        let pack = try await factory.updatePack("XS83E001", version: "1.0", packages: [("dom0kit-test-hotfix", rpm)])
        let prepared = try await install(pack, on: host)
        #expect(prepared.packs.first?.afterApplyGuidance == ["restartHost"])
        #expect(prepared.packs.first?.uuid == "7f3c8d1e-0000-4000-8000-000000000001")
        #expect(prepared.packs.first?.enforceHomogeneity == true)
        #expect(try await host.rpmVersion("dom0kit-test-hotfix") == "2.1")
        #expect(try PackRecords.read("update:XS83E001", host.root)?.version == "1.0")
    }

    @Test func aBadMD5InstallsNothing() async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        let pack = try await factory.legacyPack("bad", version: "1.0", packages: [try await factory.rpm("dom0kit-test-bad", "1.0")],
                                                md5: { _ in String(repeating: "0", count: 32) })
        let error = try await #require(throws: Dom0Error.self) { try await install(pack, on: host) }
        #expect(error.status == .failed)
        #expect(error.what == "md5 mismatch")
        #expect(try await host.rpmVersion("dom0kit-test-bad") == nil)
        #expect(try PackRecords.read("vendor:bad", host.root) == nil)
    }

    @Test func anUnmetRequirementIsRefused() async throws {
        let factory = try PackFactory()
        let host = try await PackHost(productVersion: "8.2.1")
        let pack = try await factory.legacyPack("new", version: "1.0",
                                                requires: ["<requires originator=\"xs\" name=\"main\" test=\"ge\" version=\"8.3\"/>"],
                                                packages: [try await factory.rpm("dom0kit-test-new", "1.0")])
        let error = try await #require(throws: Dom0Error.self) { try await install(pack, on: host) }
        #expect(error.status == .refused)
        #expect(error.why == "xs:main ge 8.3")
        #expect(try await host.rpmVersion("dom0kit-test-new") == nil)
    }

    @Test func theSameVersionAgainIsExitThreeAndANewerOneUpgrades() async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        let first = try await factory.legacyPack("driver", version: "1.0", packages: [try await factory.rpm("dom0kit-test-driver", "1.0")])
        try await install(first, on: host)
        let again = try await #require(throws: Dom0Error.self) { try await install(first, on: host) }
        #expect(again.status == .alreadyInstalled)
        let newer = try await factory.legacyPack("driver", version: "1.1", packages: [try await factory.rpm("dom0kit-test-driver", "1.1")])
        try await install(newer, on: host)
        #expect(try await host.rpmVersion("dom0kit-test-driver") == "1.1")
        #expect(try PackRecords.read("vendor:driver", host.root)?.version == "1.1")
        let older = try await #require(throws: Dom0Error.self) { try await install(first, on: host) }
        #expect(older.status == .refused)
    }

    @Test func removeErasesPackagesAndRecordButNotWhileRequired() async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        let base = try await factory.legacyPack("base", version: "1.0", packages: [try await factory.rpm("dom0kit-test-base", "1.0")])
        let addon = try await factory.legacyPack("addon", version: "1.0",
                                                 requires: ["<requires originator=\"vendor\" name=\"base\" test=\"ge\" version=\"1.0\"/>"],
                                                 packages: [try await factory.rpm("dom0kit-test-addon", "1.0")])
        let early = try await #require(throws: Dom0Error.self) { try await install(addon, on: host) }
        #expect(early.status == .refused)
        try await install(base, on: host)
        try await install(addon, on: host)
        let blocked = try #require(throws: Dom0Error.self) { try PackInstaller(root: host.root).planRemove(PackIdentity(parsing: "vendor:base")) }
        #expect(blocked.status == .refused)
        #expect(blocked.what == "vendor:base is required by vendor:addon")
        for identity in ["vendor:addon", "vendor:base"] {
            let report = await (try PackInstaller(root: host.root).planRemove(PackIdentity(parsing: identity))).apply(ApplyContext(root: host.root))
            #expect(report.succeeded, "\(report.text)")
        }
        #expect(try await host.rpmVersion("dom0kit-test-base") == nil)
        #expect(try !host.root.exists("/etc/xensource/installed-repos/vendor:base"))
        #expect(try PackRecords.all(host.root).map(\.identity) == ["xs:main"])
    }

    @Test func debPacksInstallWithDpkgIntoTheRoot() async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        for directory in ["/var/lib/dpkg/info", "/var/lib/dpkg/updates"] { try FileSystem.createDirectories(host.root.resolve(FilePath(directory))) }
        try host.test.host.write("/var/lib/dpkg/status", "")
        try host.test.host.write("/var/lib/dpkg/available", "")
        let pack = try await factory.legacyPack("debdriver", version: "1.0", packages: [try await factory.deb("dom0kit-test-deb", "1.0")])
        try await install(pack, on: host)
        #expect(try host.root.readText("/usr/share/dom0kit-test/dom0kit-test-deb") == "dom0kit-test-deb-1.0\n")
        let report = await (try PackInstaller(root: host.root).planRemove(PackIdentity(parsing: "vendor:debdriver"))).apply(ApplyContext(root: host.root))
        #expect(report.succeeded, "\(report.text)")
        #expect(try !host.root.exists("/usr/share/dom0kit-test/dom0kit-test-deb"))
    }

    @Test func aLicenceMustBeAccepted() async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        let pack = try await factory.legacyPack("licensed", version: "1.0", packages: [try await factory.rpm("dom0kit-test-lic", "1.0")],
                                                eula: "You agree to everything.\n")
        let error = try await #require(throws: Dom0Error.self) { try await install(pack, on: host) }
        #expect(error.fix?.contains("--accept-eula") == true)
        try await install(pack, on: host, acceptEULA: true)
    }

    @Test func aPackForAnotherProductIsRefused() async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        let pack = try await factory.legacyPack("other", version: "1.0", product: "XenServer",
                                                packages: [try await factory.rpm("dom0kit-test-other", "1.0")])
        let error = try await #require(throws: Dom0Error.self) { try await install(pack, on: host) }
        #expect(error.status == .refused)
        // --product names the host's product instead.
        try await install(pack, on: host, product: "XenServer:8.4.0")
    }
}

@Suite("supp-pack refuses hostile and damaged packs")
struct HostilePackTests {
    @Test func aTraversalFileNameIsRefused() async throws {
        let factory = try PackFactory()
        let pack = try await factory.legacyPack("evil", version: "1.0", packages: [try await factory.rpm("dom0kit-test-evil", "1.0")],
                                                packageName: { _ in "../../../etc/passwd" })
        let error = try #require(throws: Dom0Error.self) { try PackReader.read(try PackSource.open(pack)) }
        #expect(error.status == .refused)
        #expect(error.why?.contains("../../../etc/passwd") == true)
    }

    /// A pack's identity names its record's directory: `..` there would write outside the root.
    @Test(arguments: [("../../../../tmp/dom0kit-escape", "driver"), ("vendor", "../../escape"), ("vendor", "a/b"),
                      ("vendor", ".hidden"), ("ven:dor", "x"), ("vendor", "tab\there")])
    func anIdentityThatIsNotAPlainNameIsRefusedBeforeAnythingIsWritten(originator: String, name: String) async throws {
        let factory = try PackFactory()
        let host = try await PackHost()
        let before = try await treeSnapshot(host.root)
        let pack = try await factory.legacyPack("placeholder", originator: originator, version: "1.0", packages: [])
        try factory.write(pack.appending("XS-REPOSITORY"), try #require(try contents(pack.appending("XS-REPOSITORY")))
            .replacing("name=\"placeholder\"", with: "name=\"\(name)\""))
        let error = try await #require(throws: Dom0Error.self) { try await install(pack, on: host) }
        #expect(error.status == .refused)
        #expect(error.what.contains("not a plain name"), "\(error)")
        #expect(error.location?.hasSuffix("XS-REPOSITORY") == true, "it names the file")
        #expect(!error.description.contains("\t"), "control characters are shown escaped")
        #expect(try await treeSnapshot(host.root) == before, "nothing written")
        #expect(try FileSystem.status("/tmp/dom0kit-escape") == nil)
    }

    @Test func anUpdatePackWhoseLabelClimbsOutIsRefused() async throws {
        let factory = try PackFactory()
        let pack = try await factory.updatePack("placeholder", version: "1.0", packages: [])
        try factory.write(pack.appending("update.xml"), try #require(try contents(pack.appending("update.xml")))
            .replacing("name-label=\"placeholder\"", with: "name-label=\"../../escape\""))
        let error = try #require(throws: Dom0Error.self) { try PackReader.read(try PackSource.open(pack)) }
        #expect(error.status == .refused)
        #expect(error.what.contains("name-label is not a plain name"))
    }

    @Test func aLinkLeavingThePackIsRefused() async throws {
        let factory = try PackFactory()
        let pack = try await factory.legacyPack("link", version: "1.0", packages: [try await factory.rpm("dom0kit-test-link", "1.0")])
        try FileSystem.symlink("../../../../../etc/shadow", at: pack.appending("shadow"))
        let error = try #require(throws: Dom0Error.self) { try PackSource.open(pack) }
        #expect(error.what.contains("link leading out"))
        let iso = try await factory.iso(pack)
        let isoError = try #require(throws: Dom0Error.self) { try PackSource.open(iso) }
        #expect(isoError.status == .refused)
    }

    @Test func aTruncatedISOIsNamed() async throws {
        let factory = try PackFactory()
        let pack = try await factory.legacyPack("cut", version: "1.0", packages: [try await factory.rpm("dom0kit-test-cut", "1.0")])
        let iso = try await factory.iso(pack)
        let bytes = try #require(try FileSystem.read(iso))
        // Keep the volume descriptors and directories (the first 64 KiB); the packages' data is gone.
        #expect(bytes.count > 3 << 16)
        try AtomicWriter.write(Array(bytes.prefix(1 << 16)), to: iso, in: .system)
        let error = try #require(throws: Dom0Error.self) {
            let source = try PackSource.open(iso)
            let packs = try PackReader.read(source)
            try PackInstaller(root: .system).verify(source, packs)
        }
        #expect(error.location?.hasPrefix(iso.string) == true, "\(error)")
    }

    @Test func anEntityBombIsRefused() throws {
        let bomb = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <repository originator="x" name="y" version="1">&lol2;</repository>
            """
        let error = try #require(throws: Dom0Error.self) { try PackXML.parse(Array(bomb.utf8), file: "XS-REPOSITORY") }
        #expect(error.status == .refused)
        #expect(error.what.contains("DOCTYPE"))
        #expect(error.location == "XS-REPOSITORY:2")
    }

    @Test func deepNestingAndUnknownEntitiesAreRefused() {
        let deep = String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40)
        #expect(throws: Dom0Error.self) { try PackXML.parse(Array(deep.utf8), file: "f") }
        #expect(throws: Dom0Error.self) { try PackXML.parse(Array("<a>&xxe;</a>".utf8), file: "f") }
        #expect(throws: Never.self) { try PackXML.parse(Array("<a b='&lt;&#65;'><![CDATA[x & y]]>z &amp; w</a>".utf8), file: "f") }
        #expect((try? PackXML.parse(Array("<a b='&lt;&#65;'><![CDATA[x & y]]>z &amp; w</a>".utf8), file: "f"))?.text == "x & yz & w")
    }

    @Test(arguments: [("8.2", "8.2.0", -1), ("8.2.1", "8.2.0", 1), ("8.2.0", "8.2.0", 0), ("10.0", "9.9", 1), ("1.0.0-45", "1.0.0", 0)])
    func versionsCompareNumericPartsOnly(a: String, b: String, order: Int) {
        #expect(VersionNumber.compare(a, b) == order)
    }
}
