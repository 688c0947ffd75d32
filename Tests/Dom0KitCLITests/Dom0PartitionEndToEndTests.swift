import Glibc
import Dom0Core
import FoundationEssentials
import SystemPackage
import Testing
import TestSupport

/// dom0-partition, the real binary on image files.
@Suite("dom0-partition, end to end")
struct Dom0PartitionEndToEndTests {
    let directory: TemporaryDirectory
    var image: FilePath { directory.appending("disk.img") }

    init() throws {
        directory = try TemporaryDirectory("dom0kit-disk")
        let fd = try FileDescriptor.open(directory.appending("disk.img"), .writeOnly, options: [.create], permissions: .ownerReadWrite)
        defer { try? fd.close() }
        #expect(ftruncate(fd.rawValue, off_t(64 << 30)) == 0)
    }

    private func run(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRunner().run([BuiltProducts.executable("dom0-partition").string] + arguments)
    }

    @Test func planShowsTheTargetAndChangesNothing() async throws {
        let before = try ImageDigest.of(image)
        let result = try await run(["plan", "--disk", image.string, "--firmware", "bios"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Decision: create"))
        #expect(result.stdout.contains("  4  ESP       40961 MiB   512 MiB     21686148-6449-6E6F-744E-656564454649"))
        #expect(try ImageDigest.of(image) == before)
    }

    @Test func applyNeedsYesThenWritesAndThenHasNothingToDo() async throws {
        let refused = try await run(["apply", "--disk", image.string])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("pass --yes"))
        let applied = try await run(["apply", "--disk", image.string, "--yes", "--json"])
        #expect(applied.status == 0, "\(applied.stderr)")
        let decoded = try ReportJSON<DiskJSON>.decode(applied.stdout)
        #expect(decoded.command == "apply")
        #expect(decoded.report?.decision == "create")
        #expect(decoded.apply?.succeeded == true)
        let again = try await run(["apply", "--disk", image.string, "--yes", "--wipe"])
        #expect(again.status == 0)
        #expect(again.stdout.contains("Decision: nothingToDo"))
    }

    /// A suffix mkfs would refuse is refused before the table is written, not after: the disk stays as it was.
    @Test(arguments: ["a\"b", "x\ny", "toolongsuffix", "UPPER", ""])
    func aBadLabelSuffixIsRefusedBeforeTheDiskIsTouched(suffix: String) async throws {
        let before = try ImageDigest.of(image)
        let result = try await run(["apply", "--disk", image.string, "--yes", "--mkfs", "--label-suffix", suffix])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("unusable label suffix"), "\(result.stderr)")
        #expect(!result.stderr.contains("\ny"), "shown escaped")
        #expect(try ImageDigest.of(image) == before, "nothing written")
    }

    @Test func refusalsExitTwoAndBadInputSixtyFour() async throws {
        _ = try await run(["apply", "--disk", image.string, "--yes", "--firmware", "uefi"])
        let refused = try await run(["apply", "--disk", image.string, "--yes", "--firmware", "bios"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("refusing to replace what is on the disk"))
        let missing = try await run(["plan", "--disk", directory.appending("nope.img").string])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("no such disk"))
        let layout = try await run(["plan", "--disk", image.string, "--layout", "xs7"])
        #expect(layout.status == 64)
        let firmware = try await run(["plan", "--disk", image.string, "--firmware", "coreboot"])
        #expect(firmware.status == 64)
    }
}

/// dom0-partition's report as a script reads it.
private struct DiskJSON: Decodable { var decision: String }
