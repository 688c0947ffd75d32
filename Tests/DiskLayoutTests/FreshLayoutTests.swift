import DiskLayout
import Dom0Core
import SystemPackage
import Testing
import TestSupport

@Suite("dom0-partition lays out fresh disks")
struct FreshLayoutTests {
    @Test(arguments: [(64, Firmware.uefi), (64, .bios), (2048, .uefi), (2048, .bios), (46, .uefi)] as [(UInt64, Firmware)])
    func theTableReadBackEqualsThePlan(gibibytes: UInt64, firmware: Firmware) async throws {
        let image = try DiskImage.gibibytes(gibibytes)
        let report = try await image.apply { $0.firmware = firmware }
        #expect(report.decision == .create)
        let target = try #require(report.target)
        let written = try #require(try await image.table())
        #expect(written.sameLayout(as: target))
        // The facts of the XS8 layout, checked against sfdisk's own reading.
        let byNumber = Dictionary(uniqueKeysWithValues: written.partitions.map { ($0.number, $0) })
        #expect(byNumber.keys.sorted() == [1, 2, 3, 4, 5, 6])
        #expect(written.partitions.sorted { $0.start < $1.start }.map(\.number) == [5, 2, 1, 4, 6, 3])
        #expect(byNumber[5]?.start == 2048)
        let mebibyte: UInt64 = (1 << 20) / 512
        #expect(byNumber[1]?.size == 18432 * mebibyte && byNumber[2]?.size == 18432 * mebibyte)
        #expect(byNumber[4]?.size == 512 * mebibyte && byNumber[5]?.size == 4096 * mebibyte && byNumber[6]?.size == 1024 * mebibyte)
        #expect(byNumber[4]?.type == (firmware == .uefi ? "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" : "21686148-6449-6E6F-744E-656564454649"))
        #expect(byNumber[3]?.type == "E6D6D379-F507-44C2-A23C-238F2A3DF928")
        #expect(byNumber[6]?.type == "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F")
        #expect(written.partitions.map(\.name) == ["root", "backup", "localsr", "ESP", "logs", "swap"])
        #expect(written.partitions.allSatisfy { $0.start % mebibyte == 0 })
        #expect(written.recognizedLayout == "xs8")
    }

    @Test func aDiskJustUnder46GiBIsRefusedAndUntouched() async throws {
        let image = try DiskImage(bytes: (46 << 30) - (100 << 20))
        let before = try image.digest
        let error = try await #require(throws: Dom0Error.self) { try await image.apply() }
        #expect(error.status == .refused)
        #expect(error.why?.contains("45 GiB") == true)
        #expect(try image.digest == before)
    }

    @Test func noSRLeavesTheRestFree() async throws {
        let image = try DiskImage.gibibytes(64)
        try await image.apply { $0.withSR = false }
        #expect(try await image.table()?.partitions.map(\.number) == [1, 2, 4, 5, 6])
    }

    @Test func anExistingTableNeedsWipeAndIsOtherwiseUntouched() async throws {
        let image = try await DiskImage.legacy(safe2upgrade: false)
        let before = try image.digest
        let error = try await #require(throws: Dom0Error.self) { try await image.apply() }
        #expect(error.status == .refused)
        #expect(error.why?.contains("gpt partition table with partitions 1, 2, 3") == true)
        #expect(error.fix == "pass --wipe to destroy it, or pass --upgrade to keep what an upgrade keeps")
        #expect(error.told(through: .spec).fix
                == "set disk.wipe: true to destroy it, or set disk.upgrade: allowed to keep what an upgrade keeps")
        #expect(try image.digest == before)
        try await image.apply { $0.wipe = true }
        #expect(try await image.table()?.recognizedLayout == "xs8")
    }

    @Test func applyingTheLayoutAgainIsNothingToDoEvenWithWipe() async throws {
        let image = try DiskImage.gibibytes(64)
        try await image.apply()
        let before = try image.digest
        for wipe in [false, true] {
            let report = try await image.apply { $0.wipe = wipe }
            #expect(report.decision == .nothingToDo)
            #expect(report.plan.isEmpty)
        }
        #expect(try image.digest == before)
    }

    @Test func aFilesystemOnTheWholeDiskCountsAsContent() async throws {
        let image = try DiskImage.gibibytes(48)
        try await image.runner.check(["mkfs.ext4", "-q", "-F", image.real.string, "65536"])
        let error = try await #require(throws: Dom0Error.self) { try await image.apply() }
        #expect(error.why?.contains("ext4") == true)
    }

    @Test func aTableSfdiskCannotMakeSenseOfIsNamed() async throws {
        let image = try DiskImage.gibibytes(64)
        try await image.partition("label: gpt\nstart=2048, size=20480\n")
        // Both GPT headers damaged: only the protective MBR is left.
        let fd = try FileDescriptor.open(image.real, .writeOnly)
        _ = try fd.writeAll(toAbsoluteOffset: 512, Array("BROKEN!!".utf8))
        _ = try fd.writeAll(toAbsoluteOffset: Int64((64 << 30) - 512), Array("BROKEN!!".utf8))
        try fd.close()
        let error = try await #require(throws: Dom0Error.self) { try await image.apply() }
        #expect(error.status == .refused)
        #expect(error.why?.contains("GPT whose headers cannot be read") == true)
        let upgrade = try await #require(throws: Dom0Error.self) { try await image.apply { $0.upgrade = true } }
        #expect(upgrade.why?.contains("GPT whose headers cannot be read") == true)
    }

    @Test func badInputIsAUsageErrorNamingIt() async throws {
        let image = try DiskImage.gibibytes(64)
        let missing = try await #require(throws: Dom0Error.self) { try await image.planner.plan("/no-such-disk", DiskOptions()) }
        #expect(missing.status == .usage)
        #expect(missing.location == "/no-such-disk")
        // A layout is a LayoutName: "xs9" is refused where text becomes one (--layout, a spec's disk.layout).
        #expect(LayoutName(rawValue: "xs9") == nil)
        let directory = try await #require(throws: Dom0Error.self) { try await image.planner.plan("/", DiskOptions()) }
        #expect(directory.what == "not a disk")
    }

    @Test func mkfsGoesThroughLoopDevicesThatAreAlwaysDetached() async throws {
        let image = try DiskImage.gibibytes(64)
        let report = try await image.apply { $0.mkfs = true; $0.firmware = .uefi }
        let table = try #require(report.target)
        for (number, type, label) in [(1, "ext4", "root-testfs"), (5, "ext4", "logs-testfs"), (4, "vfat", "BOOT-TESTFS"), (6, "swap", "swap-testfs")] {
            let partition = try #require(table.partition(number))
            let probe = try await image.runner.check(["blkid", "--probe", "--output", "export", "-O", "\(partition.start * 512)",
                                                      "-S", "\(partition.size * 512)", image.real.string])
            #expect(probe.stdout.contains("TYPE=\(type)\n"), "partition \(number): \(probe.stdout)")
            #expect(probe.stdout.contains("LABEL=\(label)\n"), "partition \(number): \(probe.stdout)")
        }
        for number in [2, 3] {
            let partition = try #require(table.partition(number))
            let probe = try await image.runner.run(["blkid", "--probe", "-O", "\(partition.start * 512)", image.real.string])
            #expect(!probe.stdout.contains("TYPE="), "backup and the SR stay unformatted")
        }
        #expect(try await image.runner.check(["losetup", "--associated", image.real.string]).stdout.isEmpty)
    }

    @Test func aRunCutShortAfterTheTableMakesOnlyTheMissingFilesystemsWithTheSameLabels() async throws {
        let image = try DiskImage.gibibytes(64)
        let first = try await image.plan { $0.mkfs = true; $0.firmware = .uefi; $0.labelSuffix = "abcdef" }
        // The table and the root filesystem were made; then the power went.
        let kinds = first.plan.changes.map(\.kind)
        #expect(kinds.filter { $0 == "formatPartition" }.count == 4)
        let cut = Plan(Array(first.plan.changes.prefix { $0.kind != "formatPartition" }) + [first.plan.changes[kinds.firstIndex(of: "formatPartition")!]])
        #expect(await cut.apply(ApplyContext(root: image.root)).succeeded)
        // Planned again without a suffix, as a new run would: the three others, labelled as root is.
        var options = DiskOptions()
        options.mkfs = true
        options.firmware = .uefi
        let resumed = try await image.planner.plan(image.path, options)
        #expect(resumed.decision == .nothingToDo)
        #expect(resumed.plan.changes.map(\.headline) == [
            "format partition 5 of \(image.real) as ext4 labelled logs-abcdef — make the logs filesystem",
            "format partition 4 of \(image.real) as vfat labelled BOOT-ABCDEF — make the ESP filesystem",
            "format partition 6 of \(image.real) as swap labelled swap-abcdef — make the swap filesystem",
        ])
        #expect(await resumed.plan.apply(ApplyContext(root: image.root)).succeeded)
        #expect(try await image.planner.plan(image.path, options).plan.isEmpty, "every filesystem is there now")
    }
}
