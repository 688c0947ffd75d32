import Dom0Core
import FoundationEssentials
import SystemPackage
import Testing
import TestSupport

/// supp-pack, the real binary: exit codes as XenServer's installer gives them.
@Suite("supp-pack, end to end")
struct SuppPackEndToEndTests {
    let test: TestHost
    let packs: TemporaryDirectory

    init() async throws {
        test = try TestHost()
        packs = try TemporaryDirectory("dom0kit-cli-packs")
        try test.host.write("/etc/os-release", "NAME=\"XCP-ng\"\nID=xenenterprise\nVERSION_ID=\"8.3.0\"\n")
        try await CommandRunner().check(["rpm", "--root", test.root.path.string, "--initdb"], effect: .readOnly)
    }

    private func run(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner().run([BuiltProducts.executable("supp-pack").string] + arguments + ["--root", test.root.path.string])
    }

    /// A one-package legacy pack as an ISO; the RPM is built with rpmbuild.
    private func pack(version: String, requires: String = "") async throws -> FilePath {
        let runner = CommandRunner()
        let top = packs.appending("top-\(version)")
        try FileSystem.createDirectories(top)
        try AtomicWriter.write(Array("""
            Name: dom0kit-cli-test
            Version: \(version)
            Release: 1
            Summary: t
            License: MIT
            BuildArch: noarch
            %description
            t
            %install
            mkdir -p %{buildroot}/opt/dom0kit-cli-test
            echo \(version) > %{buildroot}/opt/dom0kit-cli-test/version
            %files
            /opt/dom0kit-cli-test/version

            """.utf8), to: top.appending("t.spec"), in: .system)
        try await runner.check(["rpmbuild", "-bb", "--quiet", "--define", "_topdir \(top)", "--define", "_build_id_links none",
                                top.appending("t.spec").string], effect: .readOnly)
        let directory = packs.appending("pack-\(version)")
        try FileSystem.createDirectories(directory)
        let rpm = "dom0kit-cli-test-\(version)-1.noarch.rpm"
        let bytes = try #require(try FileSystem.read(top.appending("RPMS/noarch/\(rpm)")))
        try AtomicWriter.write(bytes, to: directory.appending(rpm), in: .system)
        let md5 = String(try await runner.check(["md5sum", directory.appending(rpm).string], effect: .readOnly).stdout.prefix(32))
        try AtomicWriter.write(Array("<repository originator=\"acme\" name=\"cli\" product=\"XCP-ng\" version=\"\(version)\">\(requires)</repository>\n".utf8),
                               to: directory.appending("XS-REPOSITORY"), in: .system)
        try AtomicWriter.write(Array("<packages><package label=\"t\" type=\"rpm\" size=\"\(bytes.count)\" md5=\"\(md5)\">\(rpm)</package></packages>\n".utf8),
                               to: directory.appending("XS-PACKAGES"), in: .system)
        let iso = FilePath(directory.string + ".iso")
        try await runner.check(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", iso.string, directory.string], effect: .readOnly)
        return iso
    }

    @Test func installListReinstallAndRemoveWithXenServersExitCodes() async throws {
        let iso = try await pack(version: "1.0")
        let info = try await run(["info", iso.string])
        #expect(info.status == 0)
        #expect(info.stdout.contains("acme:cli 1.0 — legacy pack for XCP-ng"))
        let verified = try await run(["verify", iso.string])
        #expect(verified.stdout == "1 package verified\n")
        let installed = try await run(["install", iso.string])
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(try test.root.readText("/opt/dom0kit-cli-test/version") == "1.0\n")
        let again = try await run(["install", iso.string])
        #expect(again.status == 3)
        #expect(again.stderr.contains("already installed"))
        let list = try await run(["list", "--json"])
        let decoded = try #require(try ReportJSON<[Listed]>.decode(list.stdout).report)
        #expect(decoded.map(\.identity) == ["acme:cli"])
        let removed = try await run(["remove", "acme:cli"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try !test.root.exists("/opt/dom0kit-cli-test/version"))
        let gone = try await run(["remove", "acme:cli"])
        #expect(gone.status == 64)
    }

    @Test func anUnmetRequirementExitsTwo() async throws {
        let iso = try await pack(version: "2.0", requires: "<requires originator=\"acme\" name=\"base\" test=\"ge\" version=\"1\"/>")
        let result = try await run(["install", iso.string])
        #expect(result.status == 2)
        #expect(result.stderr.contains("acme:base ge 1"))
    }

    @Test func aMissingPackIsAUsageError() async throws {
        let result = try await run(["install", packs.appending("nope.iso").string])
        #expect(result.status == 64)
        #expect(result.stderr.contains("no such pack"))
    }
}

private struct Listed: Decodable { var identity: String }
