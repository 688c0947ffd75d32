#if canImport(Glibc)
import Glibc
#endif
import Dom0Core
import SystemPackage
import Testing
import TestSupport

@Suite("The command runner")
struct CommandRunnerTests {
    let runner = CommandRunner()

    @Test func capturesOutputAndStatus() async throws {
        let result = try await runner.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(result == CommandResult(argv: ["sh", "-c", "echo out; echo err >&2; exit 3"], status: 3,
                                        stdout: "out\n", stderr: "err\n", executed: true))
    }

    @Test func argumentsAreNeverInterpretedByAShell() async throws {
        let result = try await runner.run(["printf", "%s|", "$(echo injected)", "a b", "*"])
        #expect(result.stdout == "$(echo injected)|a b|*|")
    }

    @Test func inputIsFedToTheTool() async throws {
        let result = try await runner.run(["cat"], input: Array("label: gpt\n".utf8))
        #expect(result.stdout == "label: gpt\n")
    }

    @Test func aHungToolIsKilledAtItsTimeout() async throws {
        let directory = try TemporaryDirectory()
        let pidFile = directory.appending("pid")
        let error = try await #require(throws: Dom0Error.self) {
            try await runner.run(["sh", "-c", "echo $$ > \(pidFile); exec sleep 600"], timeout: .seconds(3))
        }
        #expect(error.what.contains("timed out"))
        let pid = try #require(Int32(try contents(pidFile)?.trimmingTrailingWhitespace ?? ""))
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the hung child \(pid) must be gone, not left running")
    }

    @Test func aMissingToolSaysWhichPackageProvidesIt() async throws {
        let error = try await #require(throws: Dom0Error.self) { try await runner.run(["sfdisk-not-here"]) }
        #expect(error.what == "cannot run sfdisk-not-here")
        #expect(error.fix != nil)
        #expect(ToolPackages.installHint(for: "/usr/sbin/sfdisk") == "install it with: apt-get install fdisk")
    }

    @Test func checkThrowsWithTheExitStatusAndStderr() async throws {
        let error = try await #require(throws: Dom0Error.self) {
            try await runner.check(["sh", "-c", "echo 'no such partition' >&2; exit 4"])
        }
        #expect(error.why == "exit status 4: no such partition")
        #expect(error.location == "sh -c echo 'no such partition' >&2; exit 4")
    }

    @Test func dryRunRecordsMutatingCommandsButRunsQueries() async throws {
        let dry = CommandRunner(dryRun: true)
        let recorded = try await dry.run(["sh", "-c", "exit 7"])
        #expect(!recorded.executed && recorded.status == 0)
        let query = try await dry.run(["echo", "read"], effect: .readOnly)
        #expect(query.executed && query.stdout == "read\n")
    }

    @Test func environmentOverridesReachTheChild() async throws {
        let result = try await CommandRunner(environment: ["DOM0KIT_TEST": "yes"]).run(["sh", "-c", "echo $DOM0KIT_TEST"])
        #expect(result.stdout == "yes\n")
    }

    @Test func aSignalledToolReportsShellStyleStatus() async throws {
        let result = try await runner.run(["sh", "-c", "kill -9 $$"])
        #expect(result.status == 128 + 9)
    }
}
