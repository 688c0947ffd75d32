import DiskLayout
import Dom0Core
import SystemPackage
import Testing
import TestSupport

@Suite("dom0-partition --upgrade decides as XenServer's installer does")
struct UpgradeTests {
    @Test func aMarkedGPTDiskIsConvertedOnlyWithConsentAndRootIsKeptInBackup() async throws {
        let image = try await DiskImage.legacy(safe2upgrade: true)
        let before = try image.digest
        let rootHead = try image.bytes(at: 1 << 20, count: 8 << 20)

        let refused = try await #require(throws: Dom0Error.self) { try await image.apply { $0.upgrade = true } }
        #expect(refused.status == .refused)
        #expect(refused.what.contains("RE-CREATES THE LOCAL SR EMPTY"))
        #expect(refused.fix?.contains("--yes-destroy-local-sr") == true)
        #expect(try image.digest == before)

        let report = try await image.apply { $0.upgrade = true; $0.destroyLocalSR = true; $0.firmware = .bios }
        #expect(report.decision == .convertToXS8)
        let written = try #require(try await image.table())
        #expect(written.sameLayout(as: try #require(report.target)))
        let backup = try #require(written.partition(2))
        #expect(try image.bytes(at: backup.start * 512, count: 8 << 20) == rootHead, "old root copied into the new backup")
    }

    @Test func theFlagCanBeGivenOnTheCommandLine() async throws {
        let image = try await DiskImage.legacy(safe2upgrade: false)
        let report = try await image.plan { $0.upgrade = true; $0.safe2upgrade = true; $0.destroyLocalSR = true }
        #expect(report.decision == .convertToXS8)
    }

    @Test func withoutTheFlagABootPartitionTakesRootsStart() async throws {
        let image = try await DiskImage.legacy(safe2upgrade: false)
        let old = try #require(try await image.table())
        let rootHead = try image.bytes(at: 1 << 20, count: 8 << 20)
        let report = try await image.apply { $0.upgrade = true; $0.firmware = .uefi }
        #expect(report.decision == .addBootPartition)
        let written = try #require(try await image.table())
        #expect(written.sameLayout(as: try #require(report.target)))
        let oldRoot = try #require(old.partition(1))
        let boot = try #require(written.partition(4)), root = try #require(written.partition(1))
        #expect(boot.start == oldRoot.start && boot.size == 512 * 2048)
        #expect(boot.type == PartitionType.efiSystem)
        #expect(root.start == oldRoot.start + 512 * 2048 && root.size == 3584 * 2048)
        for number in [2, 3] {
            let before = try #require(old.partition(number)), after = try #require(written.partition(number))
            #expect(before.start == after.start && before.size == after.size && before.uuid == after.uuid, "partition \(number) keeps its place")
        }
        #expect(written.id == old.id, "the disk keeps its GUID")
        #expect(try image.bytes(at: try #require(old.partition(2)).start * 512, count: 8 << 20) == rootHead,
                "root was backed up block for block")
    }

    @Test func anUnreadableRootFilesystemHasNoFlag() async throws {
        let image = try DiskImage.gibibytes(64)
        try await image.partition("label: gpt\nstart=2048, size=8388608\nstart=8390656, size=8388608\nstart=16779264\n")
        let report = try await image.plan { $0.upgrade = true }
        #expect(report.decision == .addBootPartition)
    }

    @Test func aDiskWithABootPartitionIsKept() async throws {
        let image = try DiskImage.gibibytes(64)
        try await image.apply()
        let before = try image.digest
        let report = try await image.apply { $0.upgrade = true }
        #expect(report.decision == .keep)
        #expect(report.plan.isEmpty)
        #expect(try image.digest == before)
    }

    @Test func dosDisksAndBlankDisksAreRefused() async throws {
        let dos = try await DiskImage.legacy(safe2upgrade: false, label: "dos")
        let dosError = try await #require(throws: Dom0Error.self) { try await dos.apply { $0.upgrade = true } }
        #expect(dosError.status == .refused)
        #expect(dosError.why?.contains("dos") == true)

        let blank = try DiskImage.gibibytes(64)
        let blankError = try await #require(throws: Dom0Error.self) { try await blank.apply { $0.upgrade = true } }
        #expect(blankError.what == "no partition table to upgrade")
    }
}

@Suite("dom0-partition on block devices", .serialized)
struct BlockDeviceTests {
    /// A loop device over an image, detached (with its partitions) afterwards.
    private func withLoop(_ image: DiskImage, sectorSize: Int = 512, _ body: (String) async throws -> Void) async throws {
        let loop = try await image.runner.check(["losetup", "--find", "--show", "--sector-size", "\(sectorSize)", image.real.string])
            .stdout.trimmingTrailingWhitespace
        do {
            try await body(loop)
        } catch {
            _ = try? await image.runner.run(["partx", "--delete", loop])
            _ = try? await image.runner.run(["losetup", "--detach", loop])
            throw error
        }
        _ = try? await image.runner.run(["partx", "--delete", loop])
        try await image.runner.check(["losetup", "--detach", loop])
    }

    @Test func fourKiBSectorsAreHonoured() async throws {
        let image = try DiskImage.gibibytes(64)
        try await withLoop(image, sectorSize: 4096) { loop in
            let planner = DiskPlanner(root: .system)
            var options = DiskOptions()
            options.mkfs = true
            options.labelSuffix = "fourkb"
            let report = try await planner.plan(FilePath(loop), options)
            #expect(report.disk.sectorSize == 4096 && report.disk.isBlockDevice)
            let applied = await report.plan.apply(ApplyContext(root: .system))
            #expect(applied.succeeded, "\(applied.text)")
            let written = try #require(try await Disk.read(FilePath(loop), root: .system, runner: image.runner).table)
            #expect(written.sectorSize == 4096)
            #expect(written.sameLayout(as: try #require(report.target)))
            #expect(written.partition(5)?.start == 256, "1 MiB in 4 KiB sectors")
            #expect(written.partition(1)?.size == 18432 * 256)
            let again = try await planner.plan(FilePath(loop), options)
            #expect(again.decision == .nothingToDo)
        }
    }

    @Test func aMountedPartitionIsRefusedAndTheDiskUntouched() async throws {
        let image = try DiskImage.gibibytes(64)
        try await withLoop(image) { loop in
            // A host whose /proc and /sys say the disk's first partition is mounted on /.
            let host = try TestHost()
            let device = try #require(try FileSystem.status(FilePath(loop), followSymlinks: true)).st_rdev
            let major = (device >> 8) & 0xfff, minor = device & 0xff
            try FileSystem.createDirectories(host.root.resolve("/dev"))
            try await image.runner.check(["mknod", host.root.resolve("/dev/sdz").string, "b", "\(major)", "\(minor)"])
            try host.host.write(FilePath("/sys/dev/block/\(major):\(minor)/sdz1/partition"), "1\n")
            try host.host.write(FilePath("/sys/dev/block/\(major):\(minor)/sdz1/dev"), "259:7\n")
            try host.host.write(FilePath("/sys/dev/block/\(major):\(minor)/sdz2/partition"), "2\n")
            try host.host.write(FilePath("/sys/dev/block/\(major):\(minor)/sdz2/dev"), "259:8\n")
            try FileSystem.createDirectories(host.root.resolve(FilePath("/sys/dev/block/\(major):\(minor)/sdz2/holders/dm-0")))
            try host.host.write("/proc/self/mountinfo", "22 1 259:7 / / rw,relatime shared:1 - ext4 /dev/sdz1 rw\n")
            let before = try image.digest
            let error = try await #require(throws: Dom0Error.self) { try await DiskPlanner(root: host.root).plan("/dev/sdz", DiskOptions()) }
            #expect(error.status == .refused)
            #expect(error.why?.contains("partition 1 is mounted on /") == true)
            #expect(error.why?.contains("partition 2 is held by dm-0") == true)
            #expect(try image.digest == before)
        }
    }
}
