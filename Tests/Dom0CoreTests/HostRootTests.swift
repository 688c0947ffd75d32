import Dom0Core
import SystemPackage
import Testing
import TestSupport

@Suite("HostRoot resolves host paths under the root and never outside it")
struct HostRootTests {
    let directory: TemporaryDirectory
    let root: HostRoot

    init() throws {
        directory = try TemporaryDirectory()
        try FileSystem.createDirectories(directory.appending("etc/default"))
        try FileSystem.createDirectories(directory.appending("run/real"))
        root = try HostRoot(directory.path)
    }

    @Test func plainPathsResolveUnderTheRoot() throws {
        #expect(try root.resolve("/etc/default/grub") == root.path.appending("etc/default/grub"))
        #expect(try root.resolve("/") == root.path)
    }

    @Test func missingComponentsAreAllowedForFilesAboutToBeCreated() throws {
        #expect(try root.resolve("/var/lib/dom0kit/journal") == root.path.appending("var/lib/dom0kit/journal"))
    }

    @Test func dotDotInAHostPathIsRefused() throws {
        let error = try #require(throws: Dom0Error.self) { try root.resolve("/etc/../../outside") }
        #expect(error.status == .refused)
        #expect(error.description.contains("/etc/../../outside"))
    }

    @Test func relativeHostPathsAreRejected() throws {
        let error = try #require(throws: Dom0Error.self) { try root.resolve("etc/default/grub") }
        #expect(error.status == .usage)
    }

    @Test func relativeLinksAreFollowedInsideTheRoot() throws {
        try FileSystem.symlink("../run/real", at: directory.appending("etc/link"))
        #expect(try root.resolve("/etc/link/file") == root.path.appending("run/real/file"))
    }

    @Test func absoluteLinksStartAgainAtTheRoot() throws {
        // As under chroot or systemd --root: /run/real means the root's /run/real, not the machine's.
        try FileSystem.symlink("/run/real", at: directory.appending("etc/absolute"))
        #expect(try root.resolve("/etc/absolute/x") == root.path.appending("run/real/x"))
    }

    @Test func linksClimbingAboveTheRootAreRefused() throws {
        try FileSystem.symlink("../../../../../../../etc/passwd", at: directory.appending("etc/escape"))
        let error = try #require(throws: Dom0Error.self) { try root.resolve("/etc/escape") }
        #expect(error.status == .refused)
        #expect(error.what.contains("outside the host root"))
    }

    @Test func directoriesWalkedOnceInARunAreNotLookedAtAgainButLinksStillAre() throws {
        // Two entries through the same real directory, as two PCI functions under one pci0000:00.
        try FileSystem.createDirectories(directory.appending("run/bus/a"))
        try FileSystem.createDirectories(directory.appending("run/bus/b"))
        try FileSystem.symlink("../run/bus/a", at: directory.appending("etc/first"))
        try FileSystem.symlink("../run/bus/b", at: directory.appending("etc/second"))
        var directories: Set<FilePath> = []
        #expect(try root.resolve("/etc/first", directories: &directories) == root.path.appending("run/bus/a"))
        #expect(directories == [root.path.appending("etc"), root.path.appending("run"), root.path.appending("run/bus")])
        #expect(try root.resolve("/etc/second", directories: &directories) == root.path.appending("run/bus/b"))
        // A final component is never taken from the set: made a link that climbs out, it is refused.
        try FileSystem.removeTree(directory.appending("run/bus/b"))
        try FileSystem.symlink("../../../../../../../../etc", at: directory.appending("run/bus/b"))
        let error = try #require(throws: Dom0Error.self) { try root.resolve("/etc/second", directories: &directories) }
        #expect(error.what.contains("outside the host root"))
    }

    @Test func theFinalLinkCanBeKept() throws {
        try FileSystem.symlink("/run/real", at: directory.appending("etc/final"))
        #expect(try root.resolve("/etc/final", followFinalLink: false) == root.path.appending("etc/final"))
    }

    @Test func linkLoopsEndWithAnError() throws {
        try FileSystem.symlink("loop-b", at: directory.appending("etc/loop-a"))
        try FileSystem.symlink("loop-a", at: directory.appending("etc/loop-b"))
        let error = try #require(throws: Dom0Error.self) { try root.resolve("/etc/loop-a") }
        #expect(error.why?.contains("too many levels") == true)
    }

    @Test func aMissingRootIsAUsageErrorNamingIt() throws {
        let error = try #require(throws: Dom0Error.self) { try HostRoot(directory.appending("nowhere")) }
        #expect(error.status == .usage)
        #expect(error.description.contains("nowhere"))
    }

    @Test func hostPathsMapBackFromRealPaths() throws {
        #expect(root.hostPath(of: root.path.appending("etc/default/grub")) == "/etc/default/grub")
        #expect(root.hostPath(of: "/elsewhere/file") == nil)
        #expect(HostRoot.system.hostPath(of: "/etc/hosts") == "/etc/hosts")
    }

    /// One resolution rule whatever the root: the same tree gives the same real path through a
    /// root at the tree and through the machine's own root.
    @Test func theSystemRootFollowsLinksAsATreeRootDoes() throws {
        try FileSystem.symlink("../run/real", at: directory.appending("etc/link"))
        let throughTree = try root.resolve("/etc/link/file")
        let throughSystem = try HostRoot.system.resolve(root.path.appending("etc/link/file"))
        #expect(throughSystem == throughTree)
        #expect(throughSystem == root.path.appending("run/real/file"))
    }

    /// On the running kernel, a sysfs class link resolves to the device's real place, as the
    /// device guard needs (/sys/class/net/IF/device → …/0000:00:03.0).
    @Test func theSystemRootResolvesSysfsLinksToTheirDevices() throws {
        let loopback = try HostRoot.system.resolve("/sys/class/net/lo")
        #expect(loopback.string.hasPrefix("/sys/devices/"), "\(loopback)")
    }

    @Test func theSystemRootStillRefusesDotDot() throws {
        #expect(throws: Dom0Error.self) { try HostRoot.system.resolve("/etc/../root") }
        #expect(try HostRoot.system.resolve("/etc/hosts") == "/etc/hosts")
    }
}
