@testable import BootConfig
@testable import ControlSlice
import Dom0Core
@testable import Health
import HostSpec
@testable import PCIDevices
@testable import SuppPack
import SystemPackage

/// An input broke an invariant a parser promises (not a refusal: refusing bad input is right).
public struct InvariantBroken: Error, CustomStringConvertible {
    public let description: String
}

/// Counts the invariants checked while it is the task's counter, so that a target that checks
/// nothing is found out (the seed tests count each target's checks on its corpus).
public final class InvariantCount: @unchecked Sendable {
    /// Checks made; one task counts at a time (`counting`).
    public private(set) var checked = 0
    @TaskLocal static var current: InvariantCount?

    public init() {}

    /// How many invariants `body` checked.
    public static func counting(_ body: () throws -> Void) rethrows -> Int {
        let count = InvariantCount()
        try $current.withValue(count) { try body() }
        return count.checked
    }

    func add() { checked += 1 }
}

/// Fails the input when `condition` does not hold.
func require(_ condition: Bool, _ what: @autoclosure () -> String) throws(InvariantBroken) {
    InvariantCount.current?.add()
    if !condition { throw InvariantBroken(description: what()) }
}

/// One libFuzzer target per parser: each takes any bytes, lets the parser refuse them with a
/// Dom0Error (that is its job), and checks what the parser promises about what it accepts —
/// parse → render → parse is stable, a read leaves the bytes as they were, an edit touches only
/// the lines it names. A crash, a hang or a broken invariant is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case grubCfg = "grub-cfg"
    case debianGrub = "debian-grub"
    case bootArguments = "boot-arguments"
    case knobs
    case hostSpec = "host-spec"
    case packXML = "pack-xml"
    case packMetadata = "pack-metadata"
    case pcibackRules = "pciback-rules"
    case uevent
    case sliceConfig = "slice-config"
    case dom0Sched = "dom0-sched"
    case kernelFiles = "kernel-files"
    case hugepages

    /// Fails on purpose, so the seed tests can show a broken invariant is reported.
    public static func checkFails() throws(InvariantBroken) { try require(false, "this invariant never holds") }

    /// Runs the target on one input.
    public func run(_ bytes: [UInt8]) throws(InvariantBroken) {
        switch self {
        case .grubCfg: try Self.grubCfg(bytes)
        case .debianGrub: try Self.debianGrub(bytes)
        case .bootArguments: try Self.bootArguments(bytes)
        case .knobs: try Self.knobs(bytes)
        case .hostSpec: try Self.hostSpec(bytes)
        case .packXML: try Self.packXML(bytes)
        case .packMetadata: try Self.packMetadata(bytes)
        case .pcibackRules: try Self.pcibackRules(bytes)
        case .uevent: try Self.uevent(bytes)
        case .sliceConfig: try Self.sliceConfig(bytes)
        case .dom0Sched: try Self.dom0Sched(bytes)
        case .kernelFiles: try Self.kernelFiles(bytes)
        case .hugepages: try Self.hugepages(bytes)
        }
    }

    /// A XenServer grub.cfg, read as the editor reads it (byte-text): reading and rendering give
    /// the bytes back; setting an argument on the product entry's lines changes those lines only,
    /// and reading the result finds the argument there and the same entries. Judged by GRUB's own
    /// reading too (`GrubWords`): every other command reads as before, and each edited line as
    /// its old words with the argument set.
    ///
    /// The argument is `dom0kit-fuzz=1`, or the input's text before its first NUL byte when
    /// there is one and `BootArguments.checkOne` accepts it (the rest is then the file).
    static func grubCfg(_ input: [UInt8]) throws(InvariantBroken) {
        var argument = ByteText.fromUnicode("dom0kit-fuzz=1"), bytes = input
        if let nul = input.firstIndex(of: 0) {
            let chosen = String(decoding: input[..<nul], as: UTF8.self)
            guard (try? BootArguments.checkOne(chosen)) != nil, !BootArguments.key(of: chosen).isEmpty else { return }
            argument = ByteText.fromUnicode(chosen)
            bytes = Array(input[(nul + 1)...])
        }
        let key = BootArguments.key(of: argument)
        let text = ByteText.decode(bytes)
        var grub = XenServerGrub(text)
        try require(ByteText.encode(grub.text) == bytes, "a read changed the bytes")
        guard let targets = try? grub.targetEntries(named: [], in: "grub.cfg") else { return }
        var allowed: Set<Int> = []
        for entry in targets {
            for line in [BootLine.xen, .dom0] {
                guard var arguments = try? grub.arguments(line, of: entry, in: "grub.cfg") else { continue }
                arguments.set(argument)
                guard (try? grub.setArguments(arguments, line, of: entry, in: "grub.cfg")) != nil else { continue }
                if let index = line == .xen ? entry.xenLine : entry.dom0Line { allowed.insert(index) }
            }
        }
        let before = XenServerGrub(text).lines, after = grub.lines
        try require(before.count == after.count, "an edit changed the number of lines")
        for (index, pair) in zip(before, after).enumerated() where pair.0 != pair.1 {
            try require(allowed.contains(index), "an edit changed line \(index + 1), which it did not name")
        }
        let reread = XenServerGrub(grub.text)
        try require(reread.entries.map(\.title) == grub.entries.map(\.title), "an edit changed the entries")
        for entry in targets {
            for line in [BootLine.xen, .dom0] where (line == .xen ? entry.xenLine : entry.dom0Line).map(allowed.contains) == true {
                let found = (try? reread.arguments(line, of: entry, in: "grub.cfg").values(of: key)) ?? []
                try require(found == [argument], "the argument set is not read back from '\(entry.title)'")
            }
        }
        // A file GRUB refuses already (a quote open at its end) has no reading to keep.
        guard let commandsBefore = GrubWords.commands(text) else { return }
        guard let commandsAfter = GrubWords.commands(grub.text) else {
            throw InvariantBroken(description: "GRUB no longer reads the edited file: a quote is left open")
        }
        try require(commandsBefore.count == commandsAfter.count, "an edit changed the number of commands GRUB reads")
        let word = GrubWords.word(ofToken: argument)
        for (old, new) in zip(commandsBefore, commandsAfter) {
            try require(old.line == new.line, "GRUB's command at line \(old.line + 1) moved")
            if allowed.contains(old.line) {
                let kept = old.words.prefix(2) + old.words.dropFirst(2).filter { BootArguments.key(of: $0) != key }
                try require(new.words == kept + [word], "GRUB reads edited line \(old.line + 1) as \(new.words), not \(kept + [word])")
            } else {
                try require(new.words == old.words, "GRUB reads line \(old.line + 1), which was not edited, differently")
            }
        }
    }

    /// /etc/default/grub, read as sh reads it: setting a variable rewrites only that assignment's
    /// text, and reading the result gives the value set.
    static func debianGrub(_ bytes: [UInt8]) throws(InvariantBroken) {
        let text = ByteText.decode(bytes)
        var environment: ShellAssignments.Environment = [:]
        guard let parsed = try? ShellAssignments(text, path: "grub", environment: &environment) else { return }
        let name = DebianGrub.xenVariable
        if let assignment = parsed.last(name), assignment.unknownBecause != nil { return }
        let value = ByteText.fromUnicode("dom0_mem=4G,max:4G \"quoted\" $HOME `tick` \\back")
        let edited = parsed.setting(name, to: value)
        // Compared as bytes: Characters would merge a "\r" before with a "\n" added after.
        if let assignment = parsed.last(name) {
            var prefix = ""
            prefix.unicodeScalars.append(contentsOf: text.unicodeScalars[..<assignment.range.lowerBound])
            let before = ByteText.encode(prefix)
            try require(ByteText.encode(edited).starts(with: before), "an edit changed text before it")
        } else {
            try require(ByteText.encode(edited).starts(with: bytes), "an added assignment changed what was there")
        }
        var again: ShellAssignments.Environment = [:]
        guard let reread = try? ShellAssignments(edited, path: "grub", environment: &again) else {
            throw InvariantBroken(description: "the edited file no longer parses")
        }
        try require(reread.last(name)?.value == value, "the value set is not read back")
    }

    /// A boot command line: tokens render and parse back to themselves; an argument checkOne
    /// accepts is exactly one token, and GRUB reads it as one word: itself, its quotes removed.
    static func bootArguments(_ bytes: [UInt8]) throws(InvariantBroken) {
        let text = String(decoding: bytes, as: UTF8.self)
        let arguments = BootArguments(parsing: text)
        try require(BootArguments(parsing: arguments.description) == arguments, "render → parse changed the tokens")
        try require(arguments.tokens.allSatisfy { !$0.isEmpty }, "an empty token")
        if (try? BootArguments.checkOne(text)) != nil {
            try require(arguments.tokens == [text], "checkOne accepted more than one argument")
            // Scalars: as Characters, U+037E (Greek question mark) equals ";", but GRUB reads bytes.
            try require(!text.unicodeScalars.contains { $0 == "\n" || $0 == "}" || $0 == ";" }, "checkOne accepted grub syntax")
            let read = GrubWords.commands("module2 /vmlinuz " + text + " quiet\n")
            try require(read == [GrubWords.Command(line: 0, words: ["module2", "/vmlinuz", GrubWords.word(ofToken: text), "quiet"])],
                        "GRUB reads the argument checkOne accepted as \(String(describing: read))")
        }
    }

    /// The typed knobs: each value they accept renders to a value they parse to the same thing.
    static func knobs(_ bytes: [UInt8]) throws(InvariantBroken) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let list = try? HideList(parsing: text) {
            try require((try? HideList(parsing: list.description)) == list, "hide list render → parse")
        }
        // What an edit writes as xen-pciback.hide, XAPI reads: full (DDDD:BB:DD.F) entries, patterns aside.
        if let written = try? BootSetting(parsing: "\(HideList.key)=\(text)", on: .dom0).argument(on: nil) {
            let unreadable = HideList.entriesXAPICannotRead(String(written.dropFirst(HideList.key.count + 1)))
            try require(unreadable.allSatisfy { $0.contains("*") }, "an edit writes \(unreadable), which XAPI cannot read")
        }
        if let memory = try? Dom0Memory(parsing: text) {
            try require((try? Dom0Memory(parsing: memory.description)) == memory, "dom0_mem render → parse")
            for part in [memory.amount, memory.minimum, memory.maximum] {
                if let part { try require(part >= Dom0Memory.least, "dom0_mem accepted \(part)") }
            }
        }
        if let ids = try? VFIOIDs(parsing: text) {
            try require((try? VFIOIDs(parsing: ids.description)) == ids, "vfio-pci.ids render → parse")
        }
        if let vcpus = try? Dom0VCPUs(parsing: text) {
            try require((try? Dom0VCPUs(parsing: vcpus.description)) == vcpus, "dom0_max_vcpus render → parse")
            try require(text.utf8.allSatisfy { $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) },
                        "dom0_max_vcpus accepted \(text.debugDescription), which Xen's simple_strtoul misreads")
            try require((vcpus.minimum ?? 1) >= 1 && (vcpus.minimum ?? 1) <= (vcpus.maximum ?? Int.max), "dom0_max_vcpus bounds \(vcpus)")
        }
        if let nodes = try? Dom0Nodes(parsing: text) {
            try require((try? Dom0Nodes(parsing: nodes.description)) == nodes, "dom0_nodes render → parse")
            try require(!nodes.domains.isEmpty && nodes.domains.count <= Dom0Nodes.limit, "dom0_nodes count \(nodes.domains.count)")
        }
        if let iommu = try? XenIOMMU(parsing: text) {
            try require(!text.contains(" "), "iommu= accepted a blank")
            try require((try? XenIOMMU(parsing: iommu.description)) == iommu, "iommu= render → parse")
        }
    }

    /// A host spec: refused with a location, or read into types whose rendering reads back the
    /// same (the rules file host-prepare writes from the spec holds exactly the spec's rules).
    static func hostSpec(_ bytes: [UInt8]) throws(InvariantBroken) {
        let spec: HostSpec
        do throws(Dom0Error) {
            spec = try HostSpec.parse(String(decoding: bytes, as: UTF8.self), file: "host.yaml")
        } catch {
            try require(error.location?.hasPrefix("host.yaml") == true, "a spec error without its file: \(error)")
            return
        }
        if let rules = spec.devices?.rules {
            let again = try? BindRules.parse(BindRules.configFile(rules, header: "fuzz"), file: "pciback.conf")
            try require(again?.map(\.match) == rules.map(\.match) && again?.map(\.driver) == rules.map(\.driver),
                        "spec rules → rules file → rules")
        }
        if let hide = spec.boot?.settings.hide {
            try require(hide.isEmpty || (try? HideList(parsing: hide.description)) == hide, "spec hide list render → parse")
        }
    }

    /// Pack XML: refused with the file named, or parsed within the reader's limits.
    static func packXML(_ bytes: [UInt8]) throws(InvariantBroken) {
        let root: XMLElement
        do throws(Dom0Error) {
            root = try PackXML.parse(bytes, file: "XS-REPOSITORY")
        } catch {
            try require(error.location?.hasPrefix("XS-REPOSITORY") == true, "an XML error without its file: \(error)")
            return
        }
        try require(depth(root) <= PackXML.maximumDepth + 1, "nesting beyond the limit")
    }

    private static func depth(_ element: XMLElement) -> Int {
        1 + (element.children.map(depth).max() ?? 0)
    }

    /// A pack's metadata files, split from the input at NUL bytes (XS-REPOSITORY, XS-PACKAGES,
    /// update.xml), read from a directory: refused, or an identity that is a plain name.
    static func packMetadata(_ bytes: [UInt8]) throws(InvariantBroken) {
        let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map(Array.init)
        let names = ["XS-REPOSITORY", "XS-PACKAGES", "update.xml"]
        for (index, name) in names.enumerated() {
            let path = PackDirectory.shared.appending(name)
            if index < parts.count, !(index == 2 && parts[index].isEmpty) {
                // A plain write: durability is not the point here, and fsync would slow each run a hundredfold.
                if let fd = try? FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite) {
                    _ = try? fd.writeAll(parts[index])
                    try? fd.close()
                }
            } else {
                try? FileSystem.remove(path)
            }
        }
        guard let source = try? PackSource.open(PackDirectory.shared), let packs = try? PackReader.read(source) else { return }
        for pack in packs {
            for field in [pack.originator, pack.name] {
                try require((try? PackReader.identityField(field, "field", "fuzz")) != nil, "an identity that is not a plain name: \(field)")
            }
            for package in pack.packages {
                try require(!package.file.hasPrefix("/") && !package.file.split(separator: "/").contains(".."), "a package outside the pack")
            }
        }
    }

    /// pciback.conf: every rule renders to a line that parses to the same rule, and names the line
    /// it was read from.
    static func pcibackRules(_ bytes: [UInt8]) throws(InvariantBroken) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let rules = try? BindRules.parse(text, file: "pciback.conf") else { return }
        // Each rule names its own line: that line alone reads as the same rule, and lines only go on.
        let lines = text.utf8.split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        try require(zip(rules, rules.dropFirst()).allSatisfy { ($0.line ?? 0) < ($1.line ?? 0) }, "rule lines in order")
        for rule in rules {
            guard let line = rule.line, line >= 1, line <= lines.count else { throw InvariantBroken(description: "rule at line \(rule.line ?? 0)") }
            let alone = try? BindRules.parse(lines[line - 1], file: "line")
            try require(alone?.count == 1 && alone?.first?.match == rule.match && alone?.first?.driver == rule.driver,
                        "line \(line) alone: \(rule.description)")
            let again = try? BindRules.parse(rule.description, file: "rendered")
            try require(again?.count == 1 && again?.first?.match == rule.match && again?.first?.driver == rule.driver,
                        "rule render → parse: \(rule.description)")
        }
    }

    /// A PCI function's uevent: the ids are those of its last PCI_ID line, as a plain hex reading
    /// of that line gives them.
    static func uevent(_ bytes: [UInt8]) throws(InvariantBroken) {
        guard let identity = PCIBus.identity(fromUevent: bytes) else { return }
        let prefix = Array("PCI_ID=".utf8)
        guard let line = bytes.split(separator: 10).last(where: { $0.starts(with: prefix) }) else {
            throw InvariantBroken(description: "ids without a PCI_ID line")
        }
        let halves = String(decoding: line.dropFirst(prefix.count), as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
        let expected = halves.count == 2 ? (UInt16(halves[0], radix: 16), UInt16(halves[1], radix: 16)) : (nil, nil)
        try require(expected.0 == identity.vendor && expected.1 == identity.device, "ids \(identity) from \(String(decoding: line, as: UTF8.self))")
    }

    /// The hugepages record: refused naming a line of the file, or pages that render to a file
    /// that reads back the same, nodes each once and in order, counts within bounds.
    static func hugepages(_ bytes: [UInt8]) throws(InvariantBroken) {
        let text = String(decoding: bytes, as: UTF8.self)
        let pages: Hugepages
        do throws(Dom0Error) {
            pages = try Hugepages.parse(text, file: "hugepages.conf")
        } catch {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            let line = error.location.flatMap { Int($0.split(separator: ":").last ?? "") }
            try require(error.location == "hugepages.conf" || line.map { (1...max(lines, 1)).contains($0) } == true,
                        "an error naming no line of the file: \(error)")
            return
        }
        try require((try? Hugepages.parse(pages.fileText, file: "again")) == pages, "file → parse → file")
        if case .perNode(let nodes) = pages.count {
            try require(zip(nodes, nodes.dropFirst()).allSatisfy { $0.node < $1.node }, "nodes in order, each once: \(nodes)")
            try require(nodes.allSatisfy { Hugepages.nodeRange.contains($0.node) && $0.pages < Hugepages.pageLimit }, "counts in bounds")
        }
        try require(pages.totalPages < Hugepages.pageLimit * 1024, "a total that overflows")
    }

    /// The kernel's files health reads as tables (a sysfs or proc tree can be anything): a v1
    /// hierarchy is made only of the input's cgroup mounts, each controller a name of their
    /// options and each place a mount point of theirs; a process is in a slice only when its
    /// cgroup file names one.
    static func kernelFiles(_ bytes: [UInt8]) throws(InvariantBroken) {
        let text = String(decoding: bytes, as: UTF8.self)
        if case .legacy(let mounted) = CgroupControllersCheck.Hierarchy.parse(controllers: nil, mountinfo: text) {
            for (controller, place) in mounted {
                try require(!controller.isEmpty && !controller.contains(",") && !controller.contains(" ") && !controller.contains("\n"),
                            "controller name \(controller)")
                try require(!place.isEmpty && !place.contains(" ") && !place.contains("\n") && text.contains(" \(place) "),
                            "mount point \(place) is no field of the input")
            }
            try require(text.contains(" - ") && text.contains("cgroup "), "v1 hierarchies without a cgroup mount")
        }
        if DeviceModelCheck.inSlice(text) { try require(text.contains(".slice"), "in a slice that the cgroup file never names") }
    }

    /// The control-slice config: refused naming its line, or a config whose values are in range.
    static func sliceConfig(_ bytes: [UInt8]) throws(InvariantBroken) {
        let text = String(decoding: bytes, as: UTF8.self)
        let config: SliceConfig
        do throws(Dom0Error) {
            config = try SliceConfig.parse(text, file: "control-slice.conf")
        } catch {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
            let line = error.location.flatMap { Int($0.split(separator: ":").last ?? "") } ?? 0
            try require((1...max(lines, 1)).contains(line), "a config error naming no line of the file: \(error)")
            return
        }
        try require(CPUWeight.range.contains(config.cpuWeight), "weight \(config.cpuWeight) out of range")
        try require(config.name.hasSuffix(".slice") && !config.name.contains("/"), "slice name \(config.name)")
        for unit in config.members ?? [] { try require(!unit.contains("/") && !unit.isEmpty, "unit name \(unit)") }
        if let memory = config.memoryMin { try require(memory.allSatisfy { $0.isASCII && !$0.isWhitespace }, "MemoryMin=\(memory)") }
    }
}

extension FuzzTarget {
    /// Domain-0's scheduler file: refused naming its file (and line), or values in range that
    /// the file host-prepare writes reads back as.
    static func dom0Sched(_ bytes: [UInt8]) throws(InvariantBroken) {
        let sched: Dom0Sched
        do throws(Dom0Error) {
            sched = try Dom0Sched.parse(String(decoding: bytes, as: UTF8.self), file: "dom0-sched.conf")
        } catch {
            try require(error.location?.hasPrefix("dom0-sched.conf") == true, "an error naming no file: \(error)")
            return
        }
        try require(sched.weight.map { Dom0Sched.weightRange.contains($0) } ?? true, "weight \(String(describing: sched.weight))")
        try require(sched.cap.map { Dom0Sched.capRange.contains($0) } ?? true, "cap \(String(describing: sched.cap))")
        try require((try? Dom0Sched.parse(sched.fileText, file: "again")) == sched, "file → parse → file")
    }
}

/// The directory the pack-metadata target writes its files to, one per process.
enum PackDirectory {
    /// The package the seeds list (d.rpm) is there, so the reader gets past "the pack lacks the
    /// package" to the invariants: without it the target checked nothing (the seed test's count).
    static let shared: FilePath = {
        let directory = (try? FileSystem.makeScratchDirectory(prefix: "dom0kit-fuzz-pack")) ?? "/tmp/dom0kit-fuzz-pack"
        if let fd = try? FileDescriptor.open(directory.appending("d.rpm"), .writeOnly, options: [.create, .truncate],
                                             permissions: .ownerReadWrite) {
            _ = try? fd.writeAll(Array(repeating: UInt8(0), count: 10))
            try? fd.close()
        }
        return directory
    }()
}
