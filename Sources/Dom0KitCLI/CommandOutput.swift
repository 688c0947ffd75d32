import ArgumentParser
import Dom0Core

/// The running command as its JSON envelope names it; set once, by `Dom0KitMain.run`, for the
/// whole run.
public struct Invocation: Sendable {
    /// The tool ("host-prepare").
    public var tool: String
    /// The subcommand path under it ("boot hide"), or the tool's name when it has none.
    public var command: String

    /// How to ask for this command's help: "host-prepare boot hide --help".
    var helpCommand: String { command == tool ? "\(tool) --help" : "\(tool) \(command) --help" }

    @TaskLocal static var current = Invocation(tool: "dom0kit", command: "dom0kit")

    /// The invocation `arguments` make of `root`, run as `name` ("host-prepare", or "host-prepare
    /// demo" for a program that is one command of a tool): the words before the first option, as
    /// long as each names a subcommand. Options follow their command's name, so these are exactly
    /// the subcommands ArgumentParser takes; a parse that fails still gets the path it reached.
    static func of(_ root: any ParsableCommand.Type, named name: String, _ arguments: [String]) -> Invocation {
        var words = name.split(separator: " ").map(String.init)
        let tool = words.removeFirst()
        var command = root
        for argument in arguments {
            guard !argument.hasPrefix("-"),
                  let sub = command.configuration.subcommands.first(where: { $0.configuration.commandName == argument })
            else { break }
            words.append(argument)
            command = sub
        }
        return Invocation(tool: tool, command: words.isEmpty ? tool : words.joined(separator: " "))
    }
}

/// A command's outcome that was already shown (with --json, in its envelope on stdout): the entry
/// point only tells the error on stderr and exits with the status.
struct Shown: Error {
    var status: ExitStatus
    var error: Dom0Error?
}

/// The one way every command ends: its outcome as text, or with --json as the envelope
/// (docs/json.md); a status other than success is then the process's exit status.
public enum CommandOutput {
    /// Prints the outcome. `report` is what the command found, `plan` what it would change,
    /// `apply` what applying did, `error` why it failed (its status is the exit status unless
    /// `status` says otherwise: health's FAIL is a report, exit 1, without an error).
    public static func show(json: Bool, report: (any Encodable)? = nil, plan: (any Encodable)? = nil,
                            apply: ApplyReport? = nil, error: Dom0Error? = nil, status: ExitStatus? = nil,
                            text: @autoclosure () -> String) throws {
        let invocation = Invocation.current
        let envelope = Envelope(tool: invocation.tool, command: invocation.command, status: status, report: report,
                                plan: plan, apply: apply, error: error)
        print(json ? try Output.json(envelope) : text(), terminator: "")
        if envelope.status != .success { throw Shown(status: envelope.status, error: error) }
    }

    /// A failure no command showed (a refusal, a usage error), as the envelope on stdout.
    static func showFailure(_ error: Dom0Error) {
        let invocation = Invocation.current
        let envelope = Envelope(tool: invocation.tool, command: invocation.command, error: error)
        // Encoding an envelope of strings and numbers cannot fail; if it did, stderr still has the error.
        if let document = try? Output.json(envelope) { print(document, terminator: "") }
    }
}

extension HostOptions {
    /// Shows a report: its own text, or the envelope with it as `report`.
    func show(_ report: some TextReport, status: ExitStatus = .success) throws {
        try show(report: report, status: status, text: report.text)
    }

    /// `CommandOutput.show` with this command's --json.
    func show(report: (any Encodable)? = nil, plan: (any Encodable)? = nil, apply: ApplyReport? = nil,
              error: Dom0Error? = nil, status: ExitStatus? = nil, text: @autoclosure () -> String) throws {
        try CommandOutput.show(json: json, report: report, plan: plan, apply: apply, error: error, status: status, text: text())
    }
}
