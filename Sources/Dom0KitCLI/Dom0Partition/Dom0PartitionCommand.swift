import ArgumentParser
import DiskLayout
import Dom0Core
import SystemPackage

extension Firmware: ExpressibleByArgument {}
extension LayoutName: ExpressibleByArgument {}

/// `dom0-partition`: plan and apply dom0 disk layouts.
struct Dom0PartitionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dom0-partition",
        abstract: Tool.dom0Partition.summary,
        discussion: """
            The xs8 layout is XenServer 8's (GPT, 1 MiB aligned): logs (5) at 1 MiB, backup (2) 18 GiB, \
            root (1) 18 GiB, boot (4) 512 MiB — an EFI system partition with --firmware uefi, a BIOS \
            boot partition with --firmware bios —, swap (6) 1 GiB, and the local SR (3) on the rest \
            (--no-sr leaves it free). It needs a disk of at least 46 GiB.

            --upgrade decides as XenServer's installer does: a GPT disk without a logs partition whose \
            root filesystem holds /var/preserve/safe2upgrade (or with --safe2upgrade) is converted to \
            xs8 — root copied to the new backup partition first, the local SR re-created empty, which \
            needs --yes-destroy-local-sr; a disk without a boot partition gets one at root's start, \
            root backed up to partition 2 first and shrunk by 512 MiB; any other disk is kept.

            Nothing is written by `plan`; `apply` needs --yes. A disk with a partition table is only \
            replaced with --wipe; a block device in use (mounted, swap, LVM, RAID) is refused.

            Exit status: 0 done or nothing to do, 1 failed, 2 refused (the disk untouched), 64 usage error.
            """,
        version: Dom0Kit.version,
        subcommands: [PlanDisk.self, ApplyDisk.self])
}

/// Options shared by plan and apply.
struct DiskArguments: ParsableArguments {
    @Option(help: ArgumentHelp("The disk: a block device or an image file (a path on the host).", valueName: "PATH"))
    var disk: String

    @Option(help: ArgumentHelp("The layout to write.", valueName: "LAYOUT")) var layout = LayoutName.xs8
    @Option(help: ArgumentHelp("uefi or bios (default: uefi when the host has /sys/firmware/efi).", valueName: "FIRMWARE"))
    var firmware: Firmware?
    @Flag(help: "Replace whatever partition table or signatures the disk has.") var wipe = false
    @Flag(help: "Decide as the XenServer installer does for an existing host.") var upgrade = false
    @Flag(name: .customLong("no-sr"), help: "Leave the rest of the disk free instead of making the local SR.") var noSR = false
    @Flag(help: "With --upgrade: take the disk as marked safe to upgrade.") var safe2upgrade = false
    @Flag(name: .customLong("yes-destroy-local-sr"), help: "With --upgrade: agree that converting re-creates the local SR empty.")
    var destroyLocalSR = false
    @Flag(help: "Make filesystems: ext4 on root and logs, vfat on the ESP, swap on swap.") var mkfs = false
    @Option(help: ArgumentHelp("The suffix of filesystem labels (root-SUFFIX); random by default.", valueName: "SUFFIX"))
    var labelSuffix: String?

    var options: DiskOptions {
        var options = DiskOptions()
        options.layout = layout
        options.firmware = firmware
        options.wipe = wipe
        options.upgrade = upgrade
        options.withSR = !noSR
        options.safe2upgrade = safe2upgrade
        options.destroyLocalSR = destroyLocalSR
        options.mkfs = mkfs
        options.labelSuffix = labelSuffix
        return options
    }
}

struct PlanDisk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Read the disk and show the target table and every change.")

    @OptionGroup var host: HostOptions
    @OptionGroup var arguments: DiskArguments

    func run() async throws {
        let report = try await DiskPlanner(root: try host.hostRoot()).plan(FilePath(arguments.disk), arguments.options)
        try await host.carryOut(report.plan, report: report, dryRun: true) { _ in report.text }
    }
}

struct ApplyDisk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply", abstract: "Write the planned table (and filesystems).")

    @OptionGroup var host: HostOptions
    @OptionGroup var arguments: DiskArguments
    @Flag(help: "Write the disk. Without it apply refuses, since partitioning destroys what is there.") var yes = false
    @Flag(name: .customLong("dry-run"), help: "Plan only, as `plan` does.") var dryRun = false

    func validate() throws {
        if !yes && !dryRun { throw ValidationError("apply writes the disk: pass --yes (run `dom0-partition plan` to look first)") }
    }

    func run() async throws {
        let report = try await DiskPlanner(root: try host.hostRoot()).plan(FilePath(arguments.disk), arguments.options)
        try await host.carryOut(report.plan, report: report, dryRun: dryRun) { applied in
            report.text + (applied.map { "Apply:\n" + $0.text } ?? "")
        }
    }
}
