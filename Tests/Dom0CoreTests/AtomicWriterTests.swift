import Glibc
import Dom0Core
import Subprocess
import SystemPackage
import Testing
import TestSupport

@Suite("The atomic writer")
struct AtomicWriterTests {
    let directory: TemporaryDirectory
    let root: HostRoot

    init() throws {
        directory = try TemporaryDirectory()
        root = try HostRoot(directory.path)
    }

    @Test func createsAFileWithTheDefaultMode() throws {
        try FileSystem.createDirectories(directory.appending("etc"))
        try AtomicWriter.write(Array("hello\n".utf8), to: "/etc/new", in: root)
        #expect(try contents(directory.appending("etc/new")) == "hello\n")
        let info = try #require(try FileSystem.status(directory.appending("etc/new")))
        #expect(info.st_mode & 0o7777 == 0o644)
    }

    @Test func keepsTheModeAndOwnerOfAnExistingFile() throws {
        let path = directory.appending("secret")
        try AtomicWriter.write(Array("old".utf8), to: "/secret", in: root, mode: 0o600)
        #expect(path.withPlatformString { chown($0, 65534, 65534) } == 0, "the test runs as root, as CI does")
        try AtomicWriter.write(Array("new".utf8), to: "/secret", in: root)
        let info = try #require(try FileSystem.status(path))
        #expect(info.st_mode & 0o7777 == 0o600)
        #expect(info.st_uid == 65534 && info.st_gid == 65534)
        #expect(try contents(path) == "new")
    }

    @Test func keepsABackupOfThePreviousContentWhenAsked() throws {
        try AtomicWriter.write(Array("first".utf8), to: "/conf", in: root)
        try AtomicWriter.write(Array("second".utf8), to: "/conf", in: root, backup: true)
        #expect(try contents(directory.appending("conf")) == "second")
        #expect(try contents(directory.appending("conf" + AtomicWriter.backupSuffix)) == "first")
    }

    @Test func writesThroughALinkAndKeepsTheLink() throws {
        try FileSystem.createDirectories(directory.appending("real"))
        try AtomicWriter.write(Array("a".utf8), to: "/real/grub.cfg", in: root)
        try FileSystem.symlink("real/grub.cfg", at: directory.appending("grub.cfg"))
        try AtomicWriter.write(Array("b".utf8), to: "/grub.cfg", in: root)
        #expect(try FileSystem.status(directory.appending("grub.cfg"))?.isSymlink == true)
        #expect(try contents(directory.appending("real/grub.cfg")) == "b")
    }

    @Test func leavesNoTemporaryFilesBehind() throws {
        for round in 0..<5 { try AtomicWriter.write(Array("\(round)".utf8), to: "/file", in: root) }
        #expect(try FileSystem.entries(directory.path) == ["file"])
    }

    @Test func refusesToReplaceADirectory() throws {
        try FileSystem.createDirectories(directory.appending("dir"))
        let error = try #require(throws: Dom0Error.self) { try AtomicWriter.write([], to: "/dir", in: root) }
        #expect(error.status == .refused)
    }

    @Test func aMissingDirectoryIsAnErrorAndNothingIsWritten() throws {
        let error = try #require(throws: Dom0Error.self) {
            try AtomicWriter.write(Array("x".utf8), to: "/no/such/dir/file", in: root)
        }
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(try FileSystem.entries(directory.path).isEmpty)
    }

    @Test func deleteRemovesTheFileAndToleratesAMissingOne() throws {
        try AtomicWriter.write(Array("x".utf8), to: "/gone", in: root)
        try AtomicWriter.delete("/gone", in: root)
        try AtomicWriter.delete("/gone", in: root)
        #expect(try FileSystem.entries(directory.path).isEmpty)
    }

    /// The next write of a file removes the temporary a killed writer left beside it (its PID is
    /// gone), and never one whose writer still runs.
    @Test func aKilledWritersTemporaryIsRemovedByTheNextWrite() throws {
        let dead = directory.appending(".journal.dom0kit-999999999-x1"), live = directory.appending(".journal.dom0kit-\(getpid())-x2")
        let other = directory.appending(".other.dom0kit-999999999-x3")
        for leftover in [dead, live, other] { try AtomicWriter.write([1], to: FilePath("/" + (leftover.lastComponent?.string ?? "")), in: root) }
        try AtomicWriter.write(Array("new\n".utf8), to: "/journal", in: root)
        #expect(try FileSystem.status(dead) == nil)
        #expect(try FileSystem.status(live) != nil, "a running writer's temporary stays")
        #expect(try FileSystem.status(other) != nil, "only the file being written is swept")
    }

    /// A scratch directory whose process died is removed when the next one of its prefix is made.
    @Test func aDeadProcesssScratchDirectoryIsRemovedByTheNext() throws {
        let base = FilePath(getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
        let stale = base.appending("dom0kit-scratch-test-999999999.abcdef")
        try FileSystem.createDirectories(stale.appending("inside"))
        let fresh = try FileSystem.makeScratchDirectory(prefix: "dom0kit-scratch-test")
        defer { try? FileSystem.removeTree(fresh) }
        #expect(try FileSystem.status(stale) == nil)
        #expect(fresh.lastComponent?.string.hasPrefix("dom0kit-scratch-test-\(getpid()).") == true)
    }

    /// A child process rewrites a file in a loop and is killed with SIGKILL at random moments:
    /// after every kill the file holds one whole content or the other, never a mix or a truncation.
    @Test func survivesSigkillAtRandomMomentsTwoHundredTimes() async throws {
        let child = BuiltProducts.executable("atomic-write-child")
        let target = directory.appending("target")
        let whole = AtomicWriteContents.both
        try AtomicWriter.write(whole[0], to: "/target", in: root)
        var generator = SystemRandomNumberGenerator()
        var sawEach = [false, false]
        for _ in 0..<200 {
            let delay = Int.random(in: 1...25, using: &generator)
            let result = try await Subprocess.run(.path(child), arguments: [directory.path.string, "/target"],
                                                  input: .none, output: .discarded, error: .discarded) { execution in
                try await Task.sleep(for: .milliseconds(delay))
                try execution.send(signal: .kill)
            }
            #expect(result.terminationStatus == TerminationStatus.signaled(SIGKILL), "the child must still be writing when killed")
            let content = try #require(try FileSystem.read(target))
            let index = whole.firstIndex(of: content)
            #expect(index != nil, "after a kill the file held \(content.count) bytes, neither whole content")
            if let index { sawEach[index] = true }
        }
        #expect(sawEach == [true, true], "the kills should land at both phases of the loop")
    }
}
