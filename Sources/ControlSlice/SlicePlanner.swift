import Dom0Core
import FoundationEssentials
import SystemPackage

/// The files of the control slice: the slice unit and one drop-in per member.
public struct SliceFiles: Sendable, Encodable {
    /// Unit-directory-relative paths ("control.slice", "xapi.service.d/50-dom0kit-slice.conf") and contents.
    public var files: [String: String]
    /// The members written.
    public var members: [String]
    /// Members asked for that the host has no unit for: reported, not written.
    public var missing: [String]
    /// The host's systemd and cgroups.
    public var host: SliceHost
}

/// How applying the slice restarts things on a live host.
public enum SliceRestart: String, Sendable, CaseIterable {
    /// Members move into the slice at their next restart.
    case none
    /// Restart the slice's units.
    case slice
    /// Restart (try-restart) the members now.
    case members
}

/// Renders, plans, applies and removes the control slice.
public struct SlicePlanner: Sendable {
    /// Where apply writes.
    public static let unitDirectory: FilePath = "/etc/systemd/system"
    /// The record of what apply wrote, which remove deletes.
    public static let record: FilePath = "/var/lib/dom0kit/control-slice.record"
    /// The drop-in's name in each member's `.d` directory.
    public static let dropInName = "50-dom0kit-slice.conf"
    /// How every file control-slice writes begins: remove deletes only files that still do.
    static let header = "# Written by Dom0Kit (control-slice): "

    /// The host.
    public var root: HostRoot

    /// A planner for the host at `root`.
    public init(root: HostRoot) { self.root = root }

    /// The slice unit and drop-ins for a config on this host.
    public func render(_ config: SliceConfig) throws(Dom0Error) -> SliceFiles {
        let host = try SliceHost.read(root)
        var slice = """
            \(Self.header)control-plane daemons get more CPU than the datapath.
            [Unit]
            Description=Dom0 control plane (Dom0Kit)
            Documentation=man:systemd.slice(5)
            Before=slices.target

            [Slice]

            """
        if host.writesShares {
            slice += "CPUShares=\(CPUWeight.toShares(config.cpuWeight))\n"
            if let startup = config.startupCPUWeight { slice += "StartupCPUShares=\(CPUWeight.toShares(startup))\n" }
        } else {
            slice += "CPUWeight=\(config.cpuWeight)\n"
            if let startup = config.startupCPUWeight { slice += "StartupCPUWeight=\(startup)\n" }
        }
        if let memoryMin = config.memoryMin, host.cgroupVersion == 2 { slice += "MemoryMin=\(memoryMin)\n" }
        if let ioWeight = config.ioWeight { slice += "IOWeight=\(ioWeight)\n" }

        var files = [config.name: slice]
        var members: [String] = [], missing: [String] = []
        for unit in config.members ?? SliceConfig.defaultMembers {
            guard try SliceHost.hasUnit(unit, in: root) else {
                missing.append(unit)
                continue
            }
            members.append(unit)
            files["\(unit).d/\(Self.dropInName)"] = """
                \(Self.header)moves \(unit) into \(config.name).
                [Service]
                Slice=\(config.name)

                """
        }
        return SliceFiles(files: files, members: members, missing: missing, host: host)
    }

    /// The plan that makes /etc/systemd/system match the config: files of an earlier apply no
    /// longer wanted deleted first, then the record of what this apply writes, then the files, then
    /// (on a live host) systemd told. The record comes before the files it lists, so an apply cut
    /// short is still fully recorded: the next apply (or remove) finds every file and directory it
    /// may have made. The one plan for `control-slice apply` and host-prepare's control-slice section.
    public func planApply(_ config: SliceConfig, restart: SliceRestart = .none) throws(Dom0Error) -> (plan: Plan, files: SliceFiles) {
        let rendered = try render(config)
        let current = try readRecord()
        var plan = Plan()
        var writes: [Change] = []
        var written: [String] = []
        for (relative, content) in rendered.files.sorted(by: { $0.key < $1.key }) {
            let path = Self.unitDirectory.appending(relative)
            written.append(path.string)
            if let change = try Change.file(path, content: Array(content.utf8), in: root, part: .controlSlice,
                                            summary: relative.hasSuffix(".slice") ? "the slice unit" : "move \(relative.split(separator: ".d/")[0]) into \(config.name)") {
                writes.append(change)
            }
        }
        for stale in current.files.subtracting(written).sorted() {
            plan.add(try Change.delete(FilePath(stale), in: root, part: .controlSlice, summary: "no longer a member"))
        }
        let kept = written + [Self.record.string]
        var retired: [String] = []
        for directory in current.directories.sorted().reversed() where !kept.contains(where: { $0.hasPrefix(directory + "/") }) {
            plan.add(.step(RemoveEmptyDirectory(path: directory), part: .controlSlice, summary: "made by an earlier apply"))
            retired.append(directory)
        }
        let recording = RecordSliceFiles(files: written, retired: retired)
        if try root.read(Self.record) != (try recording.record(over: current, in: root)).encoded {
            plan.add(.step(recording, part: .controlSlice, summary: "record what Dom0Kit writes, for remove"))
        }
        plan.changes += writes
        if !plan.isEmpty || restart != .none {
            plan.changes += try systemdSteps(slice: config.name, members: rendered.members, restart: restart)
        }
        return (plan, rendered)
    }

    /// The plan that deletes exactly what apply wrote (and the directories it made), then the record.
    /// A listed file whose content is no longer Dom0Kit's (an operator rewrote it) is left alone.
    public func planRemove() throws(Dom0Error) -> Plan {
        let record = try readRecord()
        var plan = Plan()
        for file in record.files.sorted() {
            guard let content = try root.read(FilePath(file)), content.starts(with: Self.header.utf8) else { continue }
            plan.add(try Change.delete(FilePath(file), in: root, part: .controlSlice, summary: "written by control-slice apply"))
        }
        plan.add(try Change.delete(Self.record, in: root, part: .controlSlice, summary: "the record itself"))
        // Children sort after their parents, so reversed order empties the deepest first.
        for directory in record.directories.sorted().reversed() {
            plan.add(.step(RemoveEmptyDirectory(path: directory), part: .controlSlice, summary: "made by control-slice apply"))
        }
        if !plan.isEmpty { plan.changes += try systemdSteps(slice: "", members: [], restart: .none) }
        return plan
    }

    /// daemon-reload and the restarts asked for, when the root is this machine and systemd runs it.
    private func systemdSteps(slice: String, members: [String], restart: SliceRestart) throws(Dom0Error) -> [Change] {
        guard root.isSystem, try root.exists("/run/systemd/system") else { return [] }
        var steps = [Change.tool(["systemctl", "daemon-reload"], part: .controlSlice, summary: "make systemd read the new units")]
        switch restart {
        case .none: break
        case .slice: steps.append(.tool(["systemctl", "restart", slice], part: .controlSlice, summary: "restart the slice's units"))
        case .members:
            if !members.isEmpty {
                steps.append(.tool(["systemctl", "try-restart"] + members, part: .controlSlice, summary: "move the members now"))
            }
        }
        return steps
    }

    /// The members an apply wrote drop-ins for, as its record lists them (none before any apply).
    public func recordedMembers() throws(Dom0Error) -> [String] {
        try readRecord().files.sorted().compactMap { file in
            let components = FilePath(file).components.map(\.string)
            guard components.count >= 2, components.last == Self.dropInName else { return nil }
            let directory = components[components.count - 2]
            return directory.hasSuffix(".d") ? String(directory.dropLast(2)) : nil
        }
    }

    /// Records every directory above `path` that does not exist yet, so remove leaves the tree as it found it.
    func recordNewDirectories(above path: FilePath, in record: inout Record) throws(Dom0Error) {
        var directory = path.removingLastComponent()
        while directory.components.count > 0, try !root.exists(directory) {
            record.directories.insert(directory.string)
            directory = directory.removingLastComponent()
        }
    }

    /// Writes the rendered files into a generator's output directory (a real path).
    public func generate(_ config: SliceConfig, into directory: FilePath) throws(Dom0Error) -> SliceFiles {
        let rendered = try render(config)
        // Said here, since as a HostRoot a missing directory would be "no such host root".
        guard try FileSystem.status(directory, followSymlinks: true)?.isDirectory == true else {
            throw Dom0Error(.usage, "no such output directory", at: directory.string,
                            fix: "create it first, or give an existing directory (systemd passes its generators existing ones)")
        }
        let output = try HostRoot(directory)
        for (relative, content) in rendered.files.sorted(by: { $0.key < $1.key }) {
            let path = FilePath("/" + relative)
            try FileSystem.createDirectories(output.resolve(path).removingLastComponent())
            try AtomicWriter.write(Array(content.utf8), to: path, in: output)
        }
        return rendered
    }

    // MARK: the record

    struct Record: Codable, Equatable {
        var files: Set<String> = []
        var directories: Set<String> = []

        // Sorted, so the same record is the same bytes and a second apply writes nothing.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(files.sorted(), forKey: .files)
            try container.encode(directories.sorted(), forKey: .directories)
        }

        var encoded: [UInt8] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return ((try? encoder.encode(self)).map(Array.init) ?? []) + [UInt8(ascii: "\n")]
        }
    }

    func readRecord() throws(Dom0Error) -> Record {
        guard let bytes = try root.read(Self.record) else { return Record() }
        let record: Record
        do {
            record = try JSONDecoder().decode(Record.self, from: Data(bytes))
        } catch {
            throw Dom0Error("cannot read the record of what control-slice wrote", at: Self.record.string, why: "\(error)",
                            fix: "restore it, or delete the files it listed by hand")
        }
        // The record says what to delete, so it is trusted only where control-slice writes.
        for file in record.files where !Self.isOwnedFile(FilePath(file)) {
            throw Dom0Error(.refused, "the record lists a file control-slice never writes", at: Self.record.string,
                            why: file.quotedForDisplay, fix: "the record was edited or damaged: correct it, or delete it and the slice's files by hand")
        }
        for directory in record.directories where !Self.isOwnedDirectory(FilePath(directory)) {
            throw Dom0Error(.refused, "the record lists a directory control-slice never makes", at: Self.record.string,
                            why: directory.quotedForDisplay, fix: "the record was edited or damaged: correct it, or delete it by hand")
        }
        return record
    }

    /// A slice unit in the unit directory, or a member's drop-in there.
    static func isOwnedFile(_ path: FilePath) -> Bool {
        let components = Array(path.components)
        guard path.isAbsolute, path.lexicallyNormalized() == path, path.starts(with: unitDirectory) else { return false }
        let inside = components.dropFirst(unitDirectory.components.count).map(\.string)
        if inside.count == 1 { return inside[0].hasSuffix(".slice") && isUnitName(inside[0]) }
        return inside.count == 2 && inside[0].hasSuffix(".d") && isUnitName(String(inside[0].dropLast(2))) && inside[1] == dropInName
    }

    /// The unit directory, a member's `.d` directory in it, the record's directory, or a directory above them.
    static func isOwnedDirectory(_ path: FilePath) -> Bool {
        guard path.isAbsolute, path.lexicallyNormalized() == path else { return false }
        if unitDirectory.starts(with: path) || record.removingLastComponent().starts(with: path) { return true }
        let inside = path.components.dropFirst(unitDirectory.components.count).map(\.string)
        return path.starts(with: unitDirectory) && inside.count == 1 && inside[0].hasSuffix(".d") && isUnitName(String(inside[0].dropLast(2)))
    }

    /// systemd's unit name characters.
    private static func isUnitName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ":-_.\\@".contains($0)) }
    }
}

/// Writes control-slice's record: the files this apply writes, and the directories above them (and
/// above the record) that do not exist when the record is written — the ones this apply makes. Which
/// directories those are is decided when applied, so the plan is the same whether or not another
/// step (host-prepare's journal, say) makes one of them first.
struct RecordSliceFiles: PlanStep {
    /// The files this apply writes (host paths).
    var files: [String]
    /// Directories of an earlier apply that the plan removes.
    var retired: [String]

    var kind: String { "recordSliceFiles" }
    var details: [String: String] { ["path": SlicePlanner.record.string, "files": files.joined(separator: " ")] }
    var headline: String { "write \(SlicePlanner.record) (\(files.count) file\(files.count == 1 ? "" : "s") and the directories apply makes)" }

    /// The record as it would be written over `current` on the host as it is now.
    func record(over current: SlicePlanner.Record, in root: HostRoot) throws(Dom0Error) -> SlicePlanner.Record {
        let planner = SlicePlanner(root: root)
        var record = current
        record.directories.subtract(retired)
        record.files = Set(files)
        for path in files + [SlicePlanner.record.string] { try planner.recordNewDirectories(above: FilePath(path), in: &record) }
        return record
    }

    func apply(_ context: ApplyContext) async throws(Dom0Error) {
        let root = context.root
        let record = try record(over: try SlicePlanner(root: root).readRecord(), in: root)
        try FileSystem.createDirectories(root.resolve(SlicePlanner.record).removingLastComponent())
        try AtomicWriter.write(record.encoded, to: SlicePlanner.record, in: root)
    }
}
