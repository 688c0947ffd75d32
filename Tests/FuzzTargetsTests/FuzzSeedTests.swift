import Dom0Core
import Dom0KitFuzz
import SystemPackage
import Testing
import TestSupport

/// Every fuzz target on its seed corpus and on inputs that once broke the parsers: the targets
/// run in every test run, not only when script/fuzz drives them, and a target that checks
/// nothing is found out here.
@Suite("Fuzz targets hold their invariants on their seeds")
struct FuzzSeedTests {
    static let corpus = FilePath(#filePath).removingLastComponent().removingLastComponent().appending("Fuzz/corpus")

    @Test(arguments: FuzzTarget.allCases)
    func everySeedKeepsTheInvariants(target: FuzzTarget) throws {
        let checked = try Self.invariantsChecked(target.rawValue, run: target.run)
        #expect(checked > 0, "\(target.rawValue) checks no invariant on its seeds: it would find only crashes")
    }

    /// Runs a target on each of its seeds, expecting no broken invariant; returns how many
    /// invariants it checked.
    static func invariantsChecked(_ name: String, run: ([UInt8]) throws -> Void) throws -> Int {
        let directory = corpus.appending(name)
        let seeds = try FileSystem.entries(directory)
        #expect(!seeds.isEmpty, "\(name) has seeds")
        return try InvariantCount.counting {
            for seed in seeds {
                let bytes = try #require(try FileSystem.read(directory.appending(seed)))
                #expect(throws: Never.self, "\(name)/\(seed)") { try run(bytes) }
            }
        }
    }

    /// Inputs that hung, wrote or slipped through before (issue 13), kept as regressions.
    @Test(arguments: [
        (FuzzTarget.debianGrub, "[ -f /etc/x ] && GRUB_CMDLINE_XEN_DEFAULT=\"a\" || b | c & d\n"),
        (.debianGrub, "GRUB_CMDLINE_XEN_DEFAULT=\"caf\u{e9}\" # \u{ff}\n"),
        (.grubCfg, "menuentry 'XCP-ng' {\n\tmultiboot2 /boot/xen.gz a\u{ff}\n\tmodule2 /boot/vmlinuz b\n}\n"),
        (.knobs, "0M"), (.knobs, "max:0"), (.bootArguments, "x=a b"), (.bootArguments, "a\n}\nmenuentry x {"),
        (.sliceConfig, "[Slice]\nMemoryMin=\u{663}\n"),
        // Found by script/fuzz: a file ending in a backslash, a Xen line with an open quote, a blank
        // followed by a combining mark.
        (.debianGrub, "A=1\ntrue \\"), (.debianGrub, "A=1\ntrue \\\n"), (.debianGrub, "A=1 #\r"),
        (.grubCfg, "menuentry 'XCP-ng' {\n\tmultiboot2 /boot/xen.gz a=\"open\n\tmodule2 /boot/vmlinuz b\n}\n"),
        (.bootArguments, "a\t\u{7F2}b"),
        (.grubCfg, "menuentry 'XCP-ng' {\n\tmultiboot2 /boot/xen.gz a\n\tmodule\n}\n"),
        (.grubCfg, "menuentry 'XCP-ng' {\r\n\tmultiboot2 /boot/xen.gz a\r\n\tmodule2 /boot/vmlinuz b\r\n}\r\n"),
        // A sign Xen's simple_strtoul does not read, and counts at the edges.
        (.knobs, "+4"), (.knobs, "0-4"), (.knobs, "-"), (.knobs, "+1,relaxed"),
        (.dom0Sched, "Weight=0\n"), (.dom0Sched, "Weight=+512\n"), (.dom0Sched, "Cap=1\n"),
        // Found by script/fuzz: an `=` with a combining mark hid the key xen-pciback.hide from its check.
        (.knobs, "\u{362}\u{FFFD}("),
    ] as [(FuzzTarget, String)])
    func earlierFindingsStayFixed(target: FuzzTarget, input: String) {
        #expect(throws: Never.self) { try target.run(Array(input.utf8)) }
    }

    /// The invariants can fail: a target that cannot fail checks nothing.
    @Test func anInvariantThatDoesNotHoldIsReported() {
        #expect(throws: InvariantBroken.self) { try FuzzTarget.checkFails() }
    }

    /// The seed test finds out a target that checks nothing: on the same seeds, a stand-in that
    /// parses and checks nothing counts no invariant, where the real target counts its checks.
    @Test func aTargetThatChecksNothingIsFoundOut() throws {
        let idle = try Self.invariantsChecked(FuzzTarget.dom0Sched.rawValue) { _ in }
        #expect(idle == 0)
        #expect(try Self.invariantsChecked(FuzzTarget.dom0Sched.rawValue, run: FuzzTarget.dom0Sched.run) > 0)
        #expect(InvariantCount.counting { _ = try? FuzzTarget.checkFails() } == 1)
    }
}
