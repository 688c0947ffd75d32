import Dom0Core
import SystemPackage

/// Debian/Ubuntu boot configuration: `/etc/default/grub` then `/etc/default/grub.d/*.cfg`, in
/// the order grub-mkconfig sources them, later assignments winning.
struct DebianGrub: Sendable {
    static let defaults: FilePath = "/etc/default/grub"
    static let dropInDirectory: FilePath = "/etc/default/grub.d"
    static let dom0KitDropIn: FilePath = "/etc/default/grub.d/dom0kit.cfg"
    static let xenVariable = "GRUB_CMDLINE_XEN_DEFAULT"
    static let linuxVariable = "GRUB_CMDLINE_LINUX_DEFAULT"
    /// When set, Debian's 20_linux_xen uses it instead of GRUB_CMDLINE_LINUX_DEFAULT for Xen entries.
    static let linuxXenReplaceVariable = "GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT"
    static let dropInHeader = "# Written by Dom0Kit (xen-cmdline --style debian-dropin); edit with xen-cmdline.\n"

    /// The source files, in sourcing order, with their current text (nil: the file does not exist yet).
    private(set) var sources: [(path: FilePath, text: String?)]
    let root: HostRoot

    /// Reads the sources under `root`, with `extra` (the drop-in Dom0Kit owns) among them even if missing.
    init(root: HostRoot, including extra: FilePath?) throws(Dom0Error) {
        self.root = root
        var paths = [Self.defaults]
        let directory = try root.resolve(Self.dropInDirectory)
        if try FileSystem.status(directory, followSymlinks: true)?.isDirectory == true {
            paths += try FileSystem.entries(directory).filter { $0.hasSuffix(".cfg") }.map { Self.dropInDirectory.appending($0) }
        }
        if let extra, !paths.contains(extra) { paths.append(extra) }
        // grub-mkconfig sources /etc/default/grub, then the drop-ins as its glob sorts them.
        paths = [paths[0]] + paths.dropFirst().sorted { $0.string.utf8.lexicographicallyPrecedes($1.string.utf8) }
        // Byte-text: what is not edited keeps its bytes (see BootEditor.plan).
        sources = try paths.map { path throws(Dom0Error) in (path, try root.read(path).map(ByteText.decode)) }
    }

    /// Evaluates every source in order; the environment after the last.
    func evaluate() throws(Dom0Error) -> ShellAssignments.Environment {
        var environment: ShellAssignments.Environment = [:]
        for source in sources {
            guard let text = source.text else { continue }
            _ = try ShellAssignments(text, path: source.path.string, environment: &environment)
        }
        return environment
    }

    /// The variable that carries a line's arguments on this host.
    func variable(for line: BootLine) throws(Dom0Error) -> String {
        switch line {
        case .xen: return Self.xenVariable
        case .dom0:
            let replaced = try evaluate()[Self.linuxXenReplaceVariable] != nil
            return replaced ? Self.linuxXenReplaceVariable : Self.linuxVariable
        }
    }

    /// A variable's effective value; throws when it cannot be known without running commands.
    func effective(_ name: String) throws(Dom0Error) -> String {
        let environment = try evaluate()
        guard let entry = environment[name] else { return "" }
        guard let value = entry else {
            let (location, why) = try unknownAssignment(of: name)
            throw Dom0Error("cannot tell the value of \(name)", at: location ?? Self.defaults.string,
                            why: why, fix: "write it as one plain quoted assignment")
        }
        return value
    }

    /// The source file and line of the effective assignment of `name`, as "path:line".
    func lastAssignment(of name: String) throws(Dom0Error) -> String? {
        try last(name).map { "\($0.file):\($0.assignment.line)" }
    }

    /// Where the last assignment of `name` is, and why its value is unknown.
    private func unknownAssignment(of name: String) throws(Dom0Error) -> (String?, String) {
        let found = try last(name)
        return (found.map { "\($0.file):\($0.assignment.line)" }, found?.assignment.unknownBecause ?? "it is computed by a command")
    }

    /// The last assignment of `name` across the sources, and its file.
    private func last(_ name: String) throws(Dom0Error) -> (file: FilePath, assignment: ShellAssignments.Assignment)? {
        var found: (FilePath, ShellAssignments.Assignment)?
        var environment: ShellAssignments.Environment = [:]
        for source in sources {
            guard let text = source.text else { continue }
            let parsed = try ShellAssignments(text, path: source.path.string, environment: &environment)
            if let assignment = parsed.last(name) { found = (source.path, assignment) }
        }
        return found
    }

    /// The value `file` itself gives `name` (evaluated after the files before it), if it assigns it.
    func ownValue(_ name: String, in file: FilePath) throws(Dom0Error) -> String?? {
        var environment: ShellAssignments.Environment = [:]
        for source in sources {
            guard let text = source.text else { continue }
            let parsed = try ShellAssignments(text, path: source.path.string, environment: &environment)
            if source.path == file { return parsed.last(name).map { $0.value } }
        }
        return nil
    }

    /// Sets `name` to `value` in `file` (its last assignment, or a new one at the end).
    mutating func set(_ name: String, to value: String, in file: FilePath) throws(Dom0Error) {
        guard let index = sources.firstIndex(where: { $0.path == file }) else {
            throw Dom0Error("\(file) is not among grub's default files", at: file.string)
        }
        let text = sources[index].text ?? (file == Self.dom0KitDropIn ? Self.dropInHeader : "")
        var environment: ShellAssignments.Environment = [:]
        for source in sources[..<index] {
            guard let text = source.text else { continue }
            _ = try ShellAssignments(text, path: source.path.string, environment: &environment)
        }
        let parsed = try ShellAssignments(text, path: file.string, environment: &environment)
        if let assignment = parsed.last(name), let why = assignment.unknownBecause {
            throw Dom0Error(.refused, "refusing to rewrite \(name)", at: "\(file):\(assignment.line)", why: why,
                            fix: "write it as one plain quoted assignment first")
        }
        sources[index].text = parsed.setting(name, to: value)
    }

    /// The current text of one source.
    func text(of file: FilePath) -> String? {
        sources.first { $0.path == file }?.text ?? nil
    }
}
