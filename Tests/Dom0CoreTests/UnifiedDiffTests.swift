import Dom0Core
import Subprocess
import SystemPackage
import Testing
import TestSupport

@Suite("Unified diffs")
struct UnifiedDiffTests {
    @Test func equalContentHasNoDiff() {
        #expect(UnifiedDiff.make(old: Array("a\nb\n".utf8), new: Array("a\nb\n".utf8), path: "/x").isEmpty)
    }

    @Test func oneChangedLineWithContext() {
        let old = (1...10).map { "line \($0)\n" }.joined()
        let new = old.replacing("line 5\n", with: "line five\n")
        #expect(UnifiedDiff.make(old: Array(old.utf8), new: Array(new.utf8), path: "/etc/default/grub") == """
            --- a/etc/default/grub
            +++ b/etc/default/grub
            @@ -2,7 +2,7 @@
             line 2
             line 3
             line 4
            -line 5
            +line five
             line 6
             line 7
             line 8

            """)
    }

    @Test func creationAndDeletionUseDevNull() {
        #expect(UnifiedDiff.make(old: nil, new: Array("new\n".utf8), path: "/f") == "--- /dev/null\n+++ b/f\n@@ -0,0 +1 @@\n+new\n")
        #expect(UnifiedDiff.make(old: Array("old\n".utf8), new: nil, path: "/f") == "--- a/f\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n")
    }

    @Test func aMissingFinalNewlineIsMarked() {
        let diff = UnifiedDiff.make(old: Array("a\nb".utf8), new: Array("a\nb\n".utf8), path: "/f")
        #expect(diff.contains("-b\n\\ No newline at end of file\n+b\n"))
    }

    static let cases: [(String, String)] = [
        ("", "one\n"),
        ("a\nb\nc\n", "c\nb\na\n"),
        ("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n", "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nL\nm\nn\n"),
        ("x\n" + String(repeating: "same\n", count: 30) + "y\n", "X\n" + String(repeating: "same\n", count: 30) + "Y\n"),
        ("only\n", ""),
        ("a\nb", "a\nc"),
    ]

    /// The real `patch` turns the old content into the new one with our diff.
    @Test(arguments: cases)
    func patchAppliesTheDiff(old: String, new: String) async throws {
        try await expectPatchApplies(old: old, new: new)
    }

    /// Random edits, each from its own seed: a failure names the seed that reproduces it.
    @Test(arguments: 1...40 as ClosedRange<UInt64>)
    func randomEditsRoundTripThroughPatch(seed: UInt64) async throws {
        var generator = SeededGenerator(seed: seed)
        let words = ["alpha", "beta", "gamma", "delta", "epsilon"]
        var lines = (0..<Int.random(in: 0...40, using: &generator)).map { _ in words.randomElement(using: &generator) ?? "" }
        let old = lines.map { $0 + "\n" }.joined()
        for _ in 0..<Int.random(in: 1...6, using: &generator) {
            switch Int.random(in: 0...2, using: &generator) {
            case 0: lines.insert("inserted", at: Int.random(in: 0...lines.count, using: &generator))
            case 1 where !lines.isEmpty: lines.remove(at: Int.random(in: 0..<lines.count, using: &generator))
            default: if !lines.isEmpty { lines[Int.random(in: 0..<lines.count, using: &generator)] = "changed" }
            }
        }
        try await expectPatchApplies(old: old, new: lines.map { $0 + "\n" }.joined())
    }

    private func expectPatchApplies(old: String, new: String) async throws {
        let directory = try TemporaryDirectory()
        let root = try HostRoot(directory.path)
        try AtomicWriter.write(Array(old.utf8), to: "/file", in: root)
        let diff = UnifiedDiff.make(old: Array(old.utf8), new: Array(new.utf8), path: "/file")
        if old == new { #expect(diff.isEmpty); return }
        try AtomicWriter.write(Array(diff.utf8), to: "/file.diff", in: root)
        let result = try await CommandRunner().run(["patch", "--quiet", "--force", directory.appending("file").string,
                                                    directory.appending("file.diff").string])
        #expect(result.status == 0, "patch rejected:\n\(diff)\n\(result.stdout)\(result.stderr)")
        #expect(try contents(directory.appending("file")) == new, "diff was:\n\(diff)")
    }
}
