import Dom0Core
import SystemPackage
import Testing
import TestSupport

/// Builds real packages and packs for the tests: RPMs with rpmbuild, debs with dpkg-deb, ISOs
/// with xorriso, metadata with checksums from md5sum and sha256sum.
struct PackFactory {
    let directory: TemporaryDirectory
    let runner = CommandRunner()

    init() throws { directory = try TemporaryDirectory("dom0kit-packs") }

    func write(_ path: FilePath, _ text: String) throws {
        try FileSystem.createDirectories(path.removingLastComponent())
        try AtomicWriter.write(Array(text.utf8), to: path, in: .system)
    }

    /// An RPM installing /usr/share/dom0kit-test/NAME.
    func rpm(_ name: String, _ version: String) async throws -> FilePath {
        let top = directory.appending("rpmbuild-\(name)-\(version)")
        let spec = top.appending("\(name).spec")
        try write(spec, """
            Name: \(name)
            Version: \(version)
            Release: 1
            Summary: Dom0Kit test package
            License: MIT
            BuildArch: noarch
            %description
            A test package.
            %install
            mkdir -p %{buildroot}/usr/share/dom0kit-test
            echo \(name)-\(version) > %{buildroot}/usr/share/dom0kit-test/\(name)
            %files
            /usr/share/dom0kit-test/\(name)

            """)
        try await runner.check(["rpmbuild", "-bb", "--quiet", "--define", "_topdir \(top)", "--define", "_build_id_links none",
                                spec.string], effect: .readOnly)
        return top.appending("RPMS/noarch/\(name)-\(version)-1.noarch.rpm")
    }

    /// A deb installing /usr/share/dom0kit-test/NAME.
    func deb(_ name: String, _ version: String) async throws -> FilePath {
        let tree = directory.appending("deb-\(name)-\(version)")
        try write(tree.appending("DEBIAN/control"), "Package: \(name)\nVersion: \(version)\nArchitecture: all\nMaintainer: Dom0Kit <dom0kit@example.org>\nDescription: test\n")
        try write(tree.appending("usr/share/dom0kit-test/\(name)"), "\(name)-\(version)\n")
        let output = directory.appending("\(name)_\(version)_all.deb")
        try await runner.check(["dpkg-deb", "--build", "--root-owner-group", tree.string, output.string], effect: .readOnly)
        return output
    }

    func digest(_ tool: String, _ file: FilePath) async throws -> String {
        String(try await runner.check([tool, file.string], effect: .readOnly).stdout.prefix { $0 != " " })
    }

    func size(_ file: FilePath) throws -> UInt64 { UInt64(try #require(try FileSystem.status(file)).st_size) }

    /// A legacy pack directory: XS-REPOSITORY, XS-PACKAGES and the packages.
    func legacyPack(_ name: String, originator: String = "vendor", version: String, product: String = "XCP-ng",
                    requires: [String] = [], packages: [FilePath], eula: String? = nil,
                    packageName: ((FilePath) -> String)? = nil, md5: ((String) -> String)? = nil) async throws -> FilePath {
        let pack = directory.appending("pack-\(name)-\(version)")
        try FileSystem.createDirectories(pack)
        try write(pack.appending("XS-REPOSITORY"), """
            <?xml version="1.0" ?>
            <repository originator="\(originator)" name="\(name)" product="\(product)" version="\(version)" build="0042">
              <description>Test pack \(name) &amp; friends</description>
            \(requires.map { "  " + $0 }.joined(separator: "\n"))
            </repository>

            """)
        var entries = ""
        for package in packages {
            let file = package.lastComponent?.string ?? ""
            let copy = pack.appending(file)
            try AtomicWriter.write(try #require(try FileSystem.read(package)), to: FilePath("/" + file), in: HostRoot(pack))
            let sum = try await digest("md5sum", copy)
            entries += "  <package label=\"\(file)\" type=\"\(file.hasSuffix(".deb") ? "deb" : "rpm")\" size=\"\(try size(copy))\" "
                + "md5=\"\(md5?(sum) ?? sum)\">\(packageName?(copy) ?? file)</package>\n"
        }
        try write(pack.appending("XS-PACKAGES"), "<packages>\n\(entries)</packages>\n")
        if let eula { try write(pack.appending("EULA"), eula) }
        return pack
    }

    /// An update-style pack: update.xml and a yum repository with a gzipped primary.xml.
    func updatePack(_ label: String, version: String, packages: [(name: String, file: FilePath)]) async throws -> FilePath {
        let pack = directory.appending("update-\(label)")
        try FileSystem.createDirectories(pack.appending("repodata"))
        try write(pack.appending("update.xml"), """
            <update name-label="\(label)" uuid="7f3c8d1e-0000-4000-8000-000000000001" version="\(version)"
                    after-apply-guidance="restartHost" enforce-homogeneity="true">
              <name-description>Hotfix \(label)</name-description>
            </update>

            """)
        var entries = ""
        for package in packages {
            let file = package.file.lastComponent?.string ?? ""
            try AtomicWriter.write(try #require(try FileSystem.read(package.file)), to: FilePath("/" + file), in: HostRoot(pack))
            entries += """
                <package type="rpm"><name>\(package.name)</name><checksum type="sha256" pkgid="YES">\(try await digest("sha256sum", pack.appending(file)))</checksum>
                <location href="\(file)"/><size package="\(try size(pack.appending(file)))"/></package>

                """
        }
        try write(pack.appending("repodata/primary.xml"), "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" packages=\"\(packages.count)\">\n\(entries)</metadata>\n")
        try await runner.check(["gzip", "-n", pack.appending("repodata/primary.xml").string], effect: .readOnly)
        let primarySum = try await digest("sha256sum", pack.appending("repodata/primary.xml.gz"))
        try write(pack.appending("repodata/repomd.xml"), """
            <?xml version="1.0" encoding="UTF-8"?>
            <repomd xmlns="http://linux.duke.edu/metadata/repo">
              <data type="primary"><checksum type="sha256">\(primarySum)</checksum><location href="repodata/primary.xml.gz"/></data>
            </repomd>

            """)
        return pack
    }

    /// The pack directory as an ISO, built by xorriso with Rock Ridge and Joliet.
    func iso(_ pack: FilePath) async throws -> FilePath {
        let image = FilePath(pack.string + ".iso")
        try await runner.check(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", image.string, pack.string], effect: .readOnly)
        return image
    }
}

/// A XCP-ng-like host root with an empty rpm database, its product inventory and xs:main record.
struct PackHost {
    let test: TestHost
    var root: HostRoot { test.root }

    init(productVersion: String = "8.3.0") async throws {
        test = try TestHost()
        try test.host.write("/etc/xensource-inventory", """
            PRODUCT_BRAND='XCP-ng'
            PRODUCT_VERSION='\(productVersion)'
            PLATFORM_NAME='XCP'
            PLATFORM_VERSION='3.4.0'

            """)
        try test.host.write("/etc/xensource/installed-repos/xs:main/XS-REPOSITORY",
                            "<repository originator=\"xs\" name=\"main\" product=\"XCP-ng\" version=\"\(productVersion)\"/>\n")
        try await CommandRunner().check(["rpm", "--root", root.path.string, "--initdb"], effect: .readOnly)
    }

    /// Whether rpm has a package installed in the root, and its version.
    func rpmVersion(_ name: String) async throws -> String? {
        let result = try await CommandRunner().run(["rpm", "--root", root.path.string, "-q", "--qf", "%{VERSION}", name], effect: .readOnly)
        return result.succeeded ? result.stdout : nil
    }
}
