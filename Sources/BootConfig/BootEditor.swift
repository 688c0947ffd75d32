import Dom0Core
import PCIDevices
import SystemPackage

/// Where a host keeps its boot command lines.
public enum BootStyle: String, Sendable, Codable, CaseIterable {
    /// XenServer-style when a hand-kept grub.cfg exists, Debian-style otherwise.
    case auto
    /// A XenServer/XCP-ng grub.cfg, edited in place.
    case xenserver
    /// `/etc/default/grub`, then grub.cfg regenerated.
    case debian
    /// Dom0Kit's own `/etc/default/grub.d/dom0kit.cfg`, then grub.cfg regenerated.
    case debianDropin = "debian-dropin"
}

/// One step of an xen-cmdline call, in the order given.
public enum BootEdit: Sendable, Equatable {
    /// Replace every token of the setting's key with the setting.
    case set(BootSetting)
    /// Remove every token of a key (KEY), or that exact token (KEY=VALUE).
    case delete(BootLine, String)
    /// Read the tokens of a key.
    case get(BootLine, String)
    /// Read Xen's `cpuid_mask_*` tokens.
    case listCPUIDMasks
}

extension BootEdit {
    /// Setting `argument` on `line`, parsed here as every edge parses it (`BootSetting(parsing:)`).
    public static func set(_ line: BootLine, _ argument: String, force: Bool = false) throws(Dom0Error) -> BootEdit {
        .set(try BootSetting(parsing: argument, on: line, force: force))
    }
}

/// An edit as the files meet it: each setting rendered to its argument, as byte-text.
enum LineEdit {
    case set(BootLine, String)
    case delete(BootLine, String)
    case get(BootLine, String)
    case listCPUIDMasks
}

/// What a get read.
public struct BootValue: Sendable, Encodable, Equatable {
    /// The line read.
    public var line: BootLine
    /// The key asked for (`cpuid_mask_*` for the list).
    public var key: String
    /// The matching tokens.
    public var tokens: [String]
}

/// The result of an xen-cmdline call: values read, and the plan that makes the edits.
public struct BootEditReport: Sendable, Encodable {
    /// The style used.
    public var style: BootStyle
    /// The file read or edited (host path).
    public var config: String
    /// What the gets read, in order.
    public var values: [BootValue] = []
    /// The changes: the file, then regenerating grub.cfg when that runs here.
    public var plan: Plan = Plan()
    /// The command that regenerates grub.cfg after a Debian-style change.
    public var regenerate: [String]?
    /// Whether that command is part of the plan; otherwise the operator runs it (under --root).
    public var regenerateInPlan = false
    /// Things the operator should know.
    public var warnings: [String] = []

    // The plan is the JSON envelope's own field (docs/json.md).
    private enum CodingKeys: String, CodingKey { case style, config, values, regenerate, regenerateInPlan, warnings }
}

extension Setting {
    public static let entry = Setting(commandLine: "pass --entry TITLE")
    public static let config = Setting(commandLine: "pass --config FILE")
    public static let debianStyle = Setting(commandLine: "pass --style debian", spec: "set boot.style: debian")
    public static let debianDropIn = Setting(commandLine: "pass --style debian-dropin", spec: "set boot.style: debian-dropin")
    public static let forceBootValues = Setting(commandLine: "pass --force")
}

/// Reads and edits the Xen and dom0 boot command lines of a host, XenServer- or Debian-style.
public struct BootEditor: Sendable {
    /// XenServer's grub.cfg locations, in search order.
    public static let xenServerConfigs: [FilePath] = [
        "/boot/efi/EFI/xenserver/grub.cfg", "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg",
    ]

    /// The host.
    public var root: HostRoot
    /// Where the command lines live.
    public var style: BootStyle
    /// A grub.cfg named explicitly (host path).
    public var config: FilePath?
    /// Menu entries named explicitly (XenServer style).
    public var entries: [String]
    /// Regenerate grub.cfg after a Debian-style change.
    public var regenerate: Bool
    /// Runs grub-script-check.
    public var runner: CommandRunner

    /// An editor for the host at `root`.
    public init(root: HostRoot, style: BootStyle = .auto, config: FilePath? = nil, entries: [String] = [],
                regenerate: Bool = true, runner: CommandRunner = CommandRunner()) {
        self.root = root
        self.style = style
        self.config = config
        self.entries = entries
        self.regenerate = regenerate
        self.runner = runner
    }

    /// Carries out the edits in memory, in order, and returns what the gets read and the plan.
    ///
    /// Files are read and written as byte-text (`ByteText`): a line that is not edited keeps its
    /// bytes, invalid UTF-8 included, and a read alone never writes.
    public func plan(_ edits: [BootEdit]) async throws(Dom0Error) -> BootEditReport {
        let bus = PCIBus(root: root)
        var lineEdits: [LineEdit] = []
        for edit in edits { lineEdits.append(try rendered(edit, bus: bus)) }
        let edits = lineEdits
        var report = switch try chooseStyle() {
        case .xenserver(let path): try await planXenServer(edits, path: path)
        case .debian(let dropIn): try planDebian(edits, dropIn: dropIn)
        }
        report.values = report.values.map { value in
            BootValue(line: value.line, key: ByteText.toUnicode(value.key), tokens: value.tokens.map(ByteText.toUnicode))
        }
        return report
    }

    /// The configured arguments of a line: the default entry's, or the effective Debian value.
    public func configured(_ line: BootLine) async throws(Dom0Error) -> BootArguments {
        switch try chooseStyle() {
        case .xenserver(let path):
            let grub = try readXenServer(path)
            guard let entry = grub.defaultEntry else {
                throw Dom0Error("no default entry", at: path.string, fix: "check the file's menuentry blocks")
            }
            return BootArguments(try grub.arguments(line, of: entry, in: path.string).tokens.map(ByteText.toUnicode))
        case .debian:
            let debian = try DebianGrub(root: root, including: nil)
            return BootArguments(parsing: ByteText.toUnicode(try debian.effective(try debian.variable(for: line))))
        }
    }

    // MARK: choosing the file

    enum Chosen { case xenserver(FilePath), debian(dropIn: Bool) }

    func chooseStyle() throws(Dom0Error) -> Chosen {
        switch style {
        case .debian, .debianDropin:
            if config != nil {
                throw Dom0Error(.usage, "--config names a XenServer grub.cfg; it does not go with --style \(style.rawValue)")
            }
            guard try root.exists(DebianGrub.defaults) else {
                throw Dom0Error("no \(DebianGrub.defaults)", at: root.path.string,
                                fix: "Debian-style hosts keep their boot arguments there; check --root")
            }
            return .debian(dropIn: style == .debianDropin)
        case .xenserver, .auto:
            if let config {
                guard try root.exists(config) else {
                    throw Dom0Error(.usage, "no such grub.cfg", at: config.string, fix: "check --config and --root")
                }
                return .xenserver(config)
            }
            for path in Self.xenServerConfigs {
                guard try root.exists(path) else {
                    // A link to nothing on the way (the file, or a directory moved away) is a
                    // broken XenServer host, not a Debian one: say so rather than edit another style.
                    if let (link, target) = try danglingLink(on: path) {
                        throw Dom0Error(link == path ? "the boot configuration is a link to nothing"
                                                     : "the boot configuration's directory is a link to nothing", at: link.string,
                                        why: root.isSystem ? "it points to \(target), which does not exist"
                                            : "it points to \(target), which under the root is \(try root.resolve(link)) and does not exist",
                                        fix: "restore \(target) (or the link), or \(set: .config)")
                    }
                    continue
                }
                let generated = try isGenerated(path)
                if style == .xenserver || !generated { return .xenserver(path) }
            }
            if style == .auto, try root.exists(DebianGrub.defaults) { return .debian(dropIn: false) }
            // The host lacks it, not the command: a failure (1), not a usage error (64).
            throw Dom0Error("no boot configuration found", at: root.path.string,
                            why: "looked for " + (Self.xenServerConfigs + [DebianGrub.defaults]).map(\.string).joined(separator: ", "),
                            fix: "\(set: .config), or on a Debian host \(set: .debianStyle)")
        }
    }

    /// The first link on the way to `path` (a directory, or the file) that leads to nothing under
    /// the root, and where it points.
    private func danglingLink(on path: FilePath) throws(Dom0Error) -> (FilePath, FilePath)? {
        var prefix = FilePath("/")
        for component in path.components {
            prefix.append(component)
            if let target = try FileSystem.linkTarget(root.resolve(prefix, followFinalLink: false)), try !root.exists(prefix) {
                return (prefix, target)
            }
        }
        return nil
    }

    /// grub-mkconfig's output says so; it is regenerated, so it is never the file to edit.
    private func isGenerated(_ path: FilePath) throws(Dom0Error) -> Bool {
        guard let text = try root.readText(path) else { return false }
        return text.contains("### BEGIN /etc/grub.d/") || text.contains("DO NOT EDIT THIS FILE")
    }

    /// The edit as the files meet it: a setting rendered once, here, keys checked, as byte-text.
    private func rendered(_ edit: BootEdit, bus: PCIBus) throws(Dom0Error) -> LineEdit {
        switch edit {
        case .set(let setting):
            return .set(setting.line, ByteText.fromUnicode(try setting.argument(on: bus)))
        case .delete(let line, let key):
            // KEY deletes every token of the key, KEY=VALUE that exact token.
            try BootArguments.checkOne(key)
            guard !BootArguments.key(of: key).isEmpty else {
                throw Dom0Error(.usage, "malformed key", at: key.quotedForDisplay, fix: "name a key, as in dom0_mem, or KEY=VALUE")
            }
            return .delete(line, ByteText.fromUnicode(key))
        case .get(let line, let key):
            guard !key.isEmpty, !key.unicodeScalars.contains("=") else {
                throw Dom0Error(.usage, "malformed key", at: key.quotedForDisplay, fix: "name a key without '=', as in dom0_mem")
            }
            return .get(line, ByteText.fromUnicode(key))
        case .listCPUIDMasks:
            return .listCPUIDMasks
        }
    }

    // MARK: XenServer

    private func readXenServer(_ path: FilePath) throws(Dom0Error) -> XenServerGrub {
        guard let bytes = try root.read(path) else {
            throw Dom0Error(.usage, "no such grub.cfg", at: path.string)
        }
        return XenServerGrub(ByteText.decode(bytes))
    }

    private func planXenServer(_ edits: [LineEdit], path: FilePath) async throws(Dom0Error) -> BootEditReport {
        var grub = try readXenServer(path)
        var report = BootEditReport(style: .xenserver, config: path.string)
        let changes = edits.contains { if case .set = $0 { true } else if case .delete = $0 { true } else { false } }
        let targets = changes ? try grub.targetEntries(named: entries, in: path.string) : []
        for edit in edits {
            switch edit {
            case .set(let line, let argument), .delete(let line, let argument):
                for entry in targets {
                    var arguments = try grub.arguments(line, of: entry, in: path.string)
                    if case .set = edit { arguments.set(argument) } else { arguments.delete(argument) }
                    try grub.setArguments(arguments, line, of: entry, in: path.string)
                }
            case .get(let line, let key):
                guard let entry = grub.defaultEntry else { throw Dom0Error("no default entry", at: path.string) }
                report.values.append(BootValue(line: line, key: key, tokens: try grub.arguments(line, of: entry, in: path.string).values(of: key)))
            case .listCPUIDMasks:
                guard let entry = grub.defaultEntry else { throw Dom0Error("no default entry", at: path.string) }
                let masks = try grub.arguments(.xen, of: entry, in: path.string).tokens.filter { $0.hasPrefix(CPUIDMask.prefix) }
                report.values.append(BootValue(line: .xen, key: CPUIDMask.prefix + "*", tokens: masks))
            }
        }
        let content = ByteText.encode(grub.text)
        if let change = try Change.file(path, content: content, in: root, part: .boot,
                                        summary: "edit the boot command lines of " + targets.map { "'\($0.title)'" }.joined(separator: ", ")) {
            try await checkScript(content, path: path, warnings: &report.warnings)
            report.plan.add(change)
        }
        return report
    }

    /// grub-script-check must accept the new file before it replaces the old one. It reads the
    /// candidate on its standard input (as it reads a file: the same verdicts, the same line
    /// numbers): nothing is written anywhere before the check.
    private func checkScript(_ content: [UInt8], path: FilePath, warnings: inout [String]) async throws(Dom0Error) {
        guard CommandRunner.locate("grub-script-check") != nil else {
            warnings.append("grub-script-check is not installed, so the new \(path) was not syntax-checked "
                            + "(\(ToolPackages.installHint(for: "grub-script-check")))")
            return
        }
        let result = try await runner.run(["grub-script-check"], effect: .readOnly, input: content)
        guard result.succeeded else {
            // Its words are quoted as its own, without the console prompt GRUB's code prints.
            let said = (result.stdout + result.stderr).split(separator: "\n").map { $0.trimmingWhitespace }
                .filter { !$0.isEmpty && !$0.hasPrefix("Aborted. Press any key") }.prefix(5)
            throw Dom0Error(.refused, "grub-script-check rejects the edited file; nothing was written", at: path.string,
                            why: "grub-script-check (exit \(result.status)) says: " + (said.isEmpty ? "nothing" : said.joined(separator: "; ")),
                            fix: "check the file for a syntax error, or the arguments given")
        }
    }

    // MARK: Debian

    private func planDebian(_ edits: [LineEdit], dropIn: Bool) throws(Dom0Error) -> BootEditReport {
        let file = dropIn ? DebianGrub.dom0KitDropIn : DebianGrub.defaults
        var debian = try DebianGrub(root: root, including: dropIn ? file : nil)
        var report = BootEditReport(style: dropIn ? .debianDropin : .debian, config: file.string)
        var variables: [BootLine: String] = [:]
        for line in BootLine.allCases { variables[line] = try debian.variable(for: line) }

        func own(_ line: BootLine) throws(Dom0Error) -> BootArguments {
            let name = variables[line] ?? ""
            // Dom0Kit's drop-in pins the whole value, so it starts from what the host has now.
            if let value = try debian.ownValue(name, in: file) { return BootArguments(parsing: value ?? "") }
            return BootArguments(parsing: dropIn ? try debian.effective(name) : "")
        }
        var intended: [(BootLine, String, [String])] = []  // line, key, the tokens of the key it should end with
        for edit in edits {
            switch edit {
            case .set(let line, let argument), .delete(let line, let argument):
                var arguments = try own(line)
                if case .set = edit { arguments.set(argument) } else { arguments.delete(argument) }
                try debian.set(variables[line] ?? "", to: arguments.description, in: file)
                let key = BootArguments.key(of: argument)
                intended.removeAll { $0.0 == line && $0.1 == key }
                intended.append((line, key, arguments.values(of: key)))
            case .get(let line, let key):
                let effective = BootArguments(parsing: try debian.effective(variables[line] ?? ""))
                report.values.append(BootValue(line: line, key: key, tokens: effective.values(of: key)))
            case .listCPUIDMasks:
                let effective = BootArguments(parsing: try debian.effective(variables[.xen] ?? ""))
                report.values.append(BootValue(line: .xen, key: CPUIDMask.prefix + "*",
                                               tokens: effective.tokens.filter { $0.hasPrefix(CPUIDMask.prefix) }))
            }
        }
        // A later drop-in that assigns the same variable would undo the edit: refuse rather than pretend.
        for (line, key, expected) in intended {
            let name = variables[line] ?? ""
            let effective = BootArguments(parsing: try debian.effective(name)).values(of: key)
            if effective != expected {
                throw Dom0Error(.refused, "\(name) is overridden after \(file)", at: try debian.lastAssignment(of: name),
                                why: "the edit of \(key) would not take effect",
                                fix: dropIn ? "remove the later assignment" : "\(set: .debianDropIn), or edit that file")
            }
        }
        guard let text = debian.text(of: file),
              let change = try Change.file(file, content: ByteText.encode(text), in: root, part: .boot,
                                           summary: "set " + Set(intended.map { variables[$0.0] ?? "" }).sorted().joined(separator: ", "))
        else { return report }
        report.plan.add(change)
        if regenerate, let command = Self.regenerateCommand() {
            report.regenerate = command
            if root.isSystem {
                report.plan.add(.tool(command, part: .boot, summary: "regenerate grub.cfg from \(file)"))
                report.regenerateInPlan = true
            }
        } else if regenerate {
            report.warnings.append("no update-grub, grub-mkconfig or grub2-mkconfig here: regenerate grub.cfg on the host")
        }
        return report
    }

    /// How this machine regenerates grub.cfg: update-grub, else grub-mkconfig or grub2-mkconfig.
    static func regenerateCommand() -> [String]? {
        if CommandRunner.locate("update-grub") != nil { return ["update-grub"] }
        if CommandRunner.locate("grub-mkconfig") != nil { return ["grub-mkconfig", "-o", "/boot/grub/grub.cfg"] }
        if CommandRunner.locate("grub2-mkconfig") != nil { return ["grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"] }
        return nil
    }
}
