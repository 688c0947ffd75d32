import Glibc
import ArgumentParser
import Dom0Core
import SystemPackage

/// `host-prepare demo`: runs `dom0kit-demo`, the program beside this one that holds the demo
/// host and its simulated kernel. They are kept out of the tools people install on hosts, so no
/// tool can ever mistake a host for a demo; this command only hands over to it.
struct DemoLauncher: ParsableCommand {
    static let program = "dom0kit-demo"

    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a small XCP-ng-like demo host and prepare it, showing each step.",
        discussion: "`host-prepare demo --help` tells more (it is \(program)'s).")

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("DIR, --json: see host-prepare demo --help.", valueName: "arguments"))
    var arguments: [String] = []

    func run() throws {
        let program = try Self.locate()
        let argv = [program.string] + arguments
        var pointers = argv.map { strdup($0) } + [nil]
        execv(program.string, &pointers)
        throw Dom0Error.system("cannot run the demo", at: program.string, Errno(rawValue: errno))
    }

    /// `dom0kit-demo` in the directory of the running executable (after its links).
    static func locate() throws(Dom0Error) -> FilePath {
        let executable = try FileSystem.readLink("/proc/self/exe")
        let candidate = executable.removingLastComponent().appending(program)
        guard try FileSystem.status(candidate, followSymlinks: true) != nil else {
            throw Dom0Error("the demo is not installed here", at: candidate.string,
                            why: "the demo is a separate program, kept out of the tools installed on hosts",
                            fix: "run script/demo in a Dom0Kit checkout, or install \(program) beside \(executable)")
        }
        return candidate
    }
}
