import Dom0Core
import Dom0KitCLI
import SystemPackage
import Testing
import TestSupport

/// installer/install.sh, run for real with the binary this build made.
@Suite("The installer")
struct InstallerTests {
    static let script = FilePath(#filePath).removingLastComponent().removingLastComponent().removingLastComponent()
        .appending("installer/install.sh").string
    let binary = BuiltProducts.executable("dom0kit").string

    private func run(_ arguments: [String], environment: [String: String?] = [:]) async throws -> CommandResult {
        try await CommandRunner(environment: environment).run(["bash", Self.script] + arguments)
    }

    @Test func everyToolAnswersThroughItsSymlinkAndUninstallRemovesExactlyWhatWasInstalled() async throws {
        let directory = try TemporaryDirectory()
        let prefix = directory.appending("inst")
        let installed = try await run(["--prefix", prefix.string, "--binary", binary])
        #expect(installed.status == 0, "\(installed.stderr)")
        for tool in Tool.tools.map(\.rawValue) {
            let help = try await CommandRunner().run([prefix.appending("bin/\(tool)").string, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE: \(tool)"))
        }
        let manifest = try #require(try contents(prefix.appending("share/dom0kit/install-manifest")))
        #expect(manifest.contains("\(prefix)/bin/dom0kit\n"))
        #expect(manifest.contains("\(prefix)/bin/xen-cmdline\n"))
        #expect(manifest.contains("\(prefix)/lib/systemd/system/control.slice\n"))
        #expect(manifest.contains("\(prefix)/lib/udev/rules.d/85-dom0kit-pciback.rules\n"))
        #expect(try contents(prefix.appending("lib/systemd/system/pciback-agent.service"))?
            .contains("ExecStart=\(prefix)/bin/pciback-agent run\n") == true)
        #expect(try contents(prefix.appending("lib/systemd/system/host-prepare-firstboot.service"))?
            .contains("ExecStart=\(prefix)/bin/host-prepare firstboot --reboot\n") == true)
        #expect(manifest.contains("\(prefix)/share/dom0kit/examples/xcp-ng-gpu-passthrough.yaml\n"))
        // A man page and completions for every tool, from the commands' own definitions.
        for tool in Tool.tools.map(\.rawValue) {
            let page = try #require(try contents(prefix.appending("share/man/man1/\(tool).1")), "\(tool)")
            #expect(page.contains(".Nm \(tool)") || page.contains(".Nm\n"), "\(tool)'s page names it")
            #expect(try contents(prefix.appending("share/bash-completion/completions/\(tool)"))?.contains("complete") == true)
            #expect(try contents(prefix.appending("share/zsh/site-functions/_\(tool)"))?.hasPrefix("#compdef \(tool)") == true)
            #expect(try contents(prefix.appending("share/fish/vendor_completions.d/\(tool).fish"))?.contains("complete -c '\(tool)'") == true)
        }
        let xenCmdlinePage = try #require(try contents(prefix.appending("share/man/man1/xen-cmdline.1")))
        #expect(xenCmdlinePage.contains("--set-xen"), "the page carries the command's discussion")
        #expect(try FileSystem.readLink(prefix.appending("lib/systemd/system-generators/control-slice-generator"))
                == prefix.appending("bin/dom0kit"))

        // Something of the operator's beside it survives the uninstall.
        try AtomicWriter.write(Array("keep me".utf8), to: "/bin/operator-script", in: HostRoot(prefix))
        let removed = try await run(["--uninstall", "--prefix", prefix.string])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try FileSystem.entries(prefix.appending("bin")) == ["operator-script"])
        #expect(try FileSystem.status(prefix.appending("share")) == nil)
        #expect(try FileSystem.status(prefix.appending("lib")) == nil, "the directories the install made are gone too")
    }

    @Test func destdirStagesFilesWhileLinksAndManifestNameTheFinalPaths() async throws {
        let stage = try TemporaryDirectory()
        let result = try await run(["--prefix", "/opt/dom0kit", "--binary", binary], environment: ["DESTDIR": stage.path.string])
        #expect(result.status == 0, "\(result.stderr)")
        let bin = stage.appending("opt/dom0kit/bin")
        #expect(try FileSystem.status(bin.appending("dom0kit"))?.isRegularFile == true)
        #expect(try FileSystem.readLink(bin.appending("supp-pack")) == "dom0kit")
        let manifest = try #require(try contents(stage.appending("opt/dom0kit/share/dom0kit/install-manifest")))
        #expect(manifest.contains("/opt/dom0kit/bin/dom0kit\n"))
        #expect(!manifest.contains(stage.path.string))
    }

    @Test func uninstallWithoutAManifestFailsAndTouchesNothing() async throws {
        let directory = try TemporaryDirectory()
        let result = try await run(["--uninstall", "--prefix", directory.path.string])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no manifest"))
    }

    @Test func unknownArgumentsAreUsageErrors() async throws {
        let result = try await run(["--frobnicate"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("unknown argument '--frobnicate'"))
    }
}
