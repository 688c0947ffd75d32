import Glibc
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
            // 8 s: under the whole suite's load a shell once took more than 3 s to write its pid.
            try await runner.run(["sh", "-c", "echo $$ > \(pidFile); exec sleep 600"], timeout: .seconds(8))
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

    /// A tool is looked up once, in the PATH the child gets, skipping a directory or a file that is
    /// not executable under its name, and started by the path found.
    @Test func aToolIsFoundOnceOnThePathAndStartedByThatPath() async throws {
        let directory = try TemporaryDirectory()
        let (first, second, third) = (directory.appending("a"), directory.appending("b"), directory.appending("c"))
        try FileSystem.createDirectories(first.appending("dom0kit-probe"))
        try FileSystem.createDirectories(second)
        try AtomicWriter.write(Array("#!/bin/sh\necho wrong\n".utf8), to: second.appending("dom0kit-probe"), in: .system, mode: 0o644)
        try FileSystem.createDirectories(third)
        try AtomicWriter.write(Array("#!/bin/sh\necho \"$0\"\n".utf8), to: third.appending("dom0kit-probe"), in: .system, mode: 0o755)
        let path = "\(first):\(second):\(third):/usr/bin:/bin"
        #expect(CommandRunner.locate("dom0kit-probe", path: path) == third.appending("dom0kit-probe"))
        let result = try await CommandRunner(environment: ["PATH": path]).run(["dom0kit-probe"])
        #expect(result.stdout == "\(third.appending("dom0kit-probe"))\n")
        #expect(result.argv == ["dom0kit-probe"], "plans and logs keep the argv as given")
    }

    @Test func aSignalledToolReportsShellStyleStatus() async throws {
        let result = try await runner.run(["sh", "-c", "kill -9 $$"])
        #expect(result.status == 128 + 9)
    }
}
