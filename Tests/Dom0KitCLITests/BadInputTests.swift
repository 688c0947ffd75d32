import Glibc
import Dom0Core
import SystemPackage
import Testing
import TestSupport

/// Where a bad input meets the tools: a host tree (an XCP-ng grub.cfg, the product's records,
/// an empty PCI bus) in `root`, the inputs a case writes (specs, packs, disk images) in `inputs`,
/// and the tools' $TMPDIR in `tmp`. The whole site is compared before and after.
struct BadInputSite {
    let directory: TemporaryDirectory
    var root: FilePath { directory.appending("root") }
    var inputs: FilePath { directory.appending("inputs") }
    var tmp: FilePath { directory.appending("tmp") }

    init() throws {
        directory = try TemporaryDirectory("dom0kit-bad-input")
        for folder in [root, inputs, tmp] { try FileSystem.createDirectories(folder) }
        try write("/boot/grub/grub.cfg", try Fixtures.text("boot/xcpng-8.2-bios.grub.cfg"))
        try write("/etc/xensource-inventory", "PRODUCT_BRAND='XCP-ng'\nPRODUCT_VERSION='8.2.1'\n")
        try write("/etc/xensource/installed-repos/xs:main/XS-REPOSITORY",
                  "<repository originator=\"xs\" name=\"main\" product=\"XCP-ng\" version=\"8.2.1\"/>\n")
        try write("/proc/cmdline", "root=LABEL=root-abc ro quiet\n")
        try write("/etc/os-release", "ID=xcp-ng\n")
        try FileSystem.createDirectories(root.appending("sys/bus/pci/devices"))
        try FileSystem.createDirectories(root.appending("sys/bus/pci/drivers"))
    }

    /// Writes a host file under the root.
    func write(_ hostPath: String, _ text: String) throws { try write(root, hostPath, Array(text.utf8)) }

    /// Writes an input file (a spec, a pack's file) under `inputs`.
    func input(_ path: String, _ text: String) throws { try write(inputs, "/" + path, Array(text.utf8)) }

    private func write(_ base: FilePath, _ path: String, _ bytes: [UInt8]) throws {
        let real = base.appending(String(path.dropFirst()))
        try FileSystem.createDirectories(real.removingLastComponent())
        try AtomicWriter.write(bytes, to: FilePath(path), in: HostRoot(base))
    }

    /// A sparse disk image of `gibibytes`: under `inputs`, or a host path (/dev/sda) under the root.
    func disk(_ name: String, gibibytes: Int) throws {
        let path = name.hasPrefix("/") ? root.appending(String(name.dropFirst())) : inputs.appending(name)
        try FileSystem.createDirectories(path.removingLastComponent())
        let fd = try FileDescriptor.open(path, .writeOnly, options: [.create], permissions: .ownerReadWrite)
        defer { try? fd.close() }
        guard ftruncate(fd.rawValue, off_t(gibibytes) << 30) == 0 else { throw Dom0Error("cannot size the image") }
    }

    /// A metadata-only legacy pack in `inputs/NAME`.
    func pack(_ name: String, repository: String, packages: String = "<packages>\n</packages>\n") throws {
        try input("\(name)/XS-REPOSITORY", repository)
        try input("\(name)/XS-PACKAGES", packages)
    }
}

/// One bad input: the command (`$ROOT` and `$IN` stand for the site's root and inputs), what the
/// site holds first, the exit status, and words the message must have: what was wrong and where.
struct BadInput: Sendable, CustomTestStringConvertible {
    let name: String
    let argv: [String]
    let status: Int32
    let says: [String]
    let setup: @Sendable (BadInputSite) throws -> Void

    init(_ name: String, _ argv: [String], exit status: Int32, says: String..., setup: @escaping @Sendable (BadInputSite) throws -> Void = { _ in }) {
        self.name = name
        self.argv = argv
        self.status = status
        self.says = says
        self.setup = setup
    }

    var testDescription: String { name }
}

/// A grub.cfg of 9 MiB of comment lines: over the 8 MiB Dom0Kit reads whole.
@Sendable func writeHugeGrubConfig(_ site: BadInputSite) throws {
    try site.write("/boot/grub/grub.cfg", String(repeating: "#" + String(repeating: " ", count: 1022) + "\n", count: 9 * 1024))
}

/// A legacy pack's XS-REPOSITORY for an XCP-ng host.
func legacyRepository(_ originator: String, _ name: String) -> String {
    "<?xml version=\"1.0\" ?>\n<repository originator=\"\(originator)\" name=\"\(name)\" product=\"XCP-ng\" version=\"1.0\">\n"
        + "  <description>test</description>\n</repository>\n"
}

/// At least a hundred bad inputs across the six tools. Each is refused with the exit status
/// DESIGN.md gives, a message saying what and where, and what to do (a fix line or the usage);
/// and the site — host tree, inputs, the tools' temporary directory — is byte-identical after.
@Suite("Bad input is refused clearly and changes nothing")
struct BadInputTests {
    static let xenCmdline: [BadInput] = [
        BadInput("a newline in --set-xen", ["xen-cmdline", "--set-xen", "loglvl=all\n}\nmenuentry 'x' {"], exit: 64, says: "not one boot argument", "control character"),
        BadInput("a brace in --set-dom0", ["xen-cmdline", "--set-dom0", "quiet}"], exit: 64, says: "not one boot argument", "GRUB script syntax"),
        BadInput("two arguments in one", ["xen-cmdline", "--set-dom0", "x=a b"], exit: 64, says: "\"x=a b\"", "more than one argument"),
        BadInput("a command separator", ["xen-cmdline", "--set-dom0", "a;reboot"], exit: 64, says: "';' is GRUB script syntax"),
        BadInput("a terminal escape", ["xen-cmdline", "--set-xen", "console=\u{1b}[2J"], exit: 64, says: "\\u{1b}[2J"),
        BadInput("an open quote", ["xen-cmdline", "--set-dom0", "x=\"open"], exit: 64, says: "quotes are not balanced"),
        BadInput("an apostrophe in --set-dom0", ["xen-cmdline", "--set-dom0", "it's"], exit: 64, says: "not one boot argument", "a single quote"),
        BadInput("an apostrophe with --force", ["xen-cmdline", "--force", "--set-xen", "x='1'"], exit: 64, says: "a single quote"),
        BadInput("a separator hidden by a combining mark", ["xen-cmdline", "--set-dom0", "a;\u{0301}reboot"], exit: 64, says: "';' is GRUB script syntax"),
        BadInput("a backslash in --set-dom0", ["xen-cmdline", "--set-dom0", "a=\\"], exit: 64, says: "a backslash"),
        BadInput("a GRUB variable in --set-xen", ["xen-cmdline", "--set-xen", "console=$console"], exit: 64, says: "'$' starts a GRUB variable"),
        BadInput("a comment in --set-dom0", ["xen-cmdline", "--set-dom0", "#quiet"], exit: 64, says: "GRUB comment"),
        BadInput("an apostrophe in Debian style", ["xen-cmdline", "--style", "debian", "--set-dom0", "it's"], exit: 64, says: "a single quote") { site in
            try site.write("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"\"\n")
        },
        BadInput("an edit inside a quote an earlier line opens", ["xen-cmdline", "--set-dom0", "quiet"], exit: 2,
                 says: "refusing to edit line", "inside a quote") { site in
            try site.write("/boot/grub/grub.cfg", "echo 'start\n" + (try Fixtures.text("boot/xcpng-8.2-bios.grub.cfg")) + "echo end'\n")
        },
        BadInput("a newline with --force", ["xen-cmdline", "--force", "--set-dom0", "quiet\nreboot"], exit: 64, says: "not one boot argument"),
        BadInput("a newline in --delete-dom0", ["xen-cmdline", "--delete-dom0", "quiet\nx"], exit: 64, says: "not one boot argument"),
        BadInput("dom0_mem=0", ["xen-cmdline", "--set-xen", "dom0_mem=0"], exit: 64, says: "too small for dom0"),
        BadInput("dom0_mem=lots", ["xen-cmdline", "--set-xen", "dom0_mem=lots"], exit: 64, says: "malformed size in dom0_mem", "lots"),
        BadInput("dom0_mem over its max", ["xen-cmdline", "--set-xen", "dom0_mem=4G,max:2G"], exit: 64, says: "exceeds max"),
        BadInput("dom0_mem too large to count", ["xen-cmdline", "--set-xen", "dom0_mem=99999999999999999999G"], exit: 64,
                 says: "the size in dom0_mem is too large"),
        BadInput("a 9 MiB grub.cfg", ["xen-cmdline", "--get-xen", "dom0_mem"], exit: 2, says: "refusing to read a file of 9437184 bytes", "at most 8 MiB",
                 setup: writeHugeGrubConfig),
        BadInput("a 9 MiB grub.cfg under boot status", ["host-prepare", "boot", "status"], exit: 2, says: "refusing to read a file of 9437184 bytes",
                 setup: writeHugeGrubConfig),
        BadInput("an unknown iommu element", ["xen-cmdline", "--set-xen", "iommu=bogus"], exit: 64, says: "unknown iommu= element 'bogus'"),
        BadInput("a hide pattern that covers no device", ["xen-cmdline", "--set-dom0", "xen-pciback.hide=(0000:0d:00.*)"], exit: 64,
                 says: "0000:0d:00.* covers no PCI function on this host", "XAPI reads only"),
        BadInput("dom0_max_vcpus=0", ["xen-cmdline", "--set-xen", "dom0_max_vcpus=0"], exit: 64, says: "is not a vCPU count", "dom0_max_vcpus=0"),
        BadInput("dom0_max_vcpus MIN over MAX", ["xen-cmdline", "--set-xen", "dom0_max_vcpus=8-2"], exit: 64, says: "MIN exceeds MAX"),
        BadInput("dom0_nodes of a negative node", ["xen-cmdline", "--set-xen", "dom0_nodes=-1"], exit: 64, says: "is not a node", "dom0_nodes=-1"),
        BadInput("an unknown sched-gran", ["xen-cmdline", "--set-xen", "sched-gran=thread"], exit: 64, says: "not a granularity"),
        BadInput("dom0_vcpus_pin=maybe", ["xen-cmdline", "--set-xen", "dom0_vcpus_pin=maybe"], exit: 64, says: "is not a boolean"),
        BadInput("a malformed hide list", ["xen-cmdline", "--set-dom0", "xen-pciback.hide=(zz)"], exit: 64, says: "xen-pciback.hide"),
        BadInput("a malformed vfio id", ["xen-cmdline", "--set-dom0", "vfio-pci.ids=xyz"], exit: 64, says: "vfio-pci id", "xyz"),
        BadInput("an argument without a key", ["xen-cmdline", "--set-xen", "=1"], exit: 64, says: "needs a key"),
        BadInput("a get of KEY=VALUE", ["xen-cmdline", "--get-xen", "a=b"], exit: 64, says: "malformed key"),
        BadInput("an unknown flag", ["xen-cmdline", "--frobnicate", "x"], exit: 64, says: "unknown option '--frobnicate'"),
        BadInput("no operation", ["xen-cmdline"], exit: 64, says: "no operation given"),
        BadInput("--set-xen without arguments", ["xen-cmdline", "--set-xen"], exit: 64, says: "--set-xen needs at least one argument"),
        BadInput("--list-cpuid-masks with an argument", ["xen-cmdline", "--list-cpuid-masks", "x"], exit: 64, says: "takes no arguments"),
        BadInput("a malformed cpuid mask", ["xen-cmdline", "--set-cpuid-masks", "cpuid_mask_ecx=zz"], exit: 64, says: "malformed cpuid mask"),
        BadInput("a non-mask deleted as one", ["xen-cmdline", "--delete-cpuid-masks", "dom0_mem"], exit: 64, says: "not a cpuid mask"),
        BadInput("a missing --config", ["xen-cmdline", "--config", "/boot/none.cfg", "--get-xen", "x"], exit: 64, says: "no such grub.cfg", "/boot/none.cfg"),
        BadInput("an unknown --entry", ["xen-cmdline", "--entry", "Nope", "--set-xen", "a=1"], exit: 64, says: "no menu entry titled 'Nope'"),
        BadInput("--style debian without its file", ["xen-cmdline", "--style", "debian", "--get-xen", "x"], exit: 1, says: "no /etc/default/grub"),
        BadInput("an unknown --style", ["xen-cmdline", "--style", "lilo", "--get-xen", "x"], exit: 64, says: "lilo"),
        BadInput("a dangling grub.cfg link", ["xen-cmdline", "--set-xen", "a=1"], exit: 1, says: "a link to nothing", "/boot/grub/grub.cfg") { site in
            try FileSystem.remove(site.root.appending("boot/grub/grub.cfg"))
            try FileSystem.symlink("gone.cfg", at: site.root.appending("boot/grub/grub.cfg"))
            try site.write("/etc/default/grub", "GRUB_CMDLINE_XEN_DEFAULT=\"\"\n")
        },
        BadInput("a grub.cfg grub-script-check rejects", ["xen-cmdline", "--set-xen", "a=1"], exit: 2,
                 says: "grub-script-check rejects the edited file", "grub-script-check (exit") { site in
            try site.write("/boot/grub/grub.cfg", try Fixtures.text("boot/xcpng-8.2-bios.grub.cfg") + "if true; then\n")
        },
        BadInput("a get on an entry with no Xen line", ["xen-cmdline", "--get-xen", "dom0_mem"], exit: 1, says: "has no Xen line") { site in
            try site.write("/boot/grub/grub.cfg", "set default=0\nmenuentry 'Windows' {\n\tchainloader +1\n}\n")
        },
        BadInput("a value computed by a command", ["xen-cmdline", "--style", "debian", "--set-xen", "a=1"], exit: 2,
                 says: "refusing to rewrite GRUB_CMDLINE_XEN_DEFAULT", "/etc/default/grub:1") { site in
            try site.write("/etc/default/grub", "GRUB_CMDLINE_XEN_DEFAULT=\"$(cat /etc/xen-args)\"\n")
        },
        BadInput("an unterminated quote in /etc/default/grub", ["xen-cmdline", "--style", "debian", "--get-dom0", "quiet"], exit: 1,
                 says: "unterminated double quote", "/etc/default/grub:2") { site in
            try site.write("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\n")
        },
        BadInput("a conditional assignment", ["xen-cmdline", "--style", "debian", "--set-xen", "a=1"], exit: 2,
                 says: "after &&", "/etc/default/grub:1") { site in
            try site.write("/etc/default/grub", "[ -f /etc/x ] && GRUB_CMDLINE_XEN_DEFAULT=\"a=0\"\n")
        },
        BadInput("a missing root", ["xen-cmdline", "--root", "/nonexistent/dom0kit-root", "--get-xen", "x"], exit: 64, says: "no such host root"),
        BadInput("a root that leads to /", ["xen-cmdline", "--root", "$ROOT/../../../../../../../../../../../..", "--set-xen", "a=1"], exit: 64,
                 says: "--root leads to this machine's own root (/)", "pass --root /"),
    ]

    static let dom0Partition: [BadInput] = [
        BadInput("apply without --yes", ["dom0-partition", "apply", "--disk", "$IN/disk.img"], exit: 64, says: "pass --yes") { try $0.disk("disk.img", gibibytes: 64) },
        BadInput("a label suffix with a quote", ["dom0-partition", "apply", "--disk", "$IN/disk.img", "--yes", "--mkfs", "--label-suffix", "a\"b"],
                 exit: 64, says: "unusable label suffix") { try $0.disk("disk.img", gibibytes: 64) },
        BadInput("a label suffix with a newline", ["dom0-partition", "apply", "--disk", "$IN/disk.img", "--yes", "--mkfs", "--label-suffix", "x\ny"],
                 exit: 64, says: "unusable label suffix", "\"x\\ny\"") { try $0.disk("disk.img", gibibytes: 64) },
        BadInput("a label suffix too long for FAT", ["dom0-partition", "apply", "--disk", "$IN/disk.img", "--yes", "--mkfs", "--label-suffix", "toolongsuffix"],
                 exit: 64, says: "unusable label suffix") { try $0.disk("disk.img", gibibytes: 64) },
        BadInput("an unknown layout", ["dom0-partition", "plan", "--disk", "$IN/disk.img", "--layout", "xs7"], exit: 64, says: "xs7") { try $0.disk("disk.img", gibibytes: 64) },
        BadInput("an unknown firmware", ["dom0-partition", "plan", "--disk", "$IN/disk.img", "--firmware", "coreboot"], exit: 64, says: "coreboot") {
            try $0.disk("disk.img", gibibytes: 64)
        },
        BadInput("a missing disk", ["dom0-partition", "plan", "--disk", "$IN/none.img"], exit: 64, says: "no such disk", "none.img"),
        BadInput("a disk too small", ["dom0-partition", "apply", "--disk", "/dev/sdb", "--yes"], exit: 2, says: "too small", "/dev/sdb") {
            try $0.disk("/dev/sdb", gibibytes: 20)
        },
        BadInput("an upgrade of a blank disk", ["dom0-partition", "apply", "--disk", "/dev/sda", "--yes", "--upgrade"], exit: 2,
                 says: "no partition table to upgrade", "/dev/sda") { try $0.disk("/dev/sda", gibibytes: 64) },
        BadInput("a directory as the disk", ["dom0-partition", "plan", "--disk", "$IN"], exit: 64, says: "inputs"),
        BadInput("--disk without its value", ["dom0-partition", "plan", "--disk"], exit: 64, says: "Missing value for '--disk"),
    ]

    static let suppPack: [BadInput] = [
        BadInput("a missing pack", ["supp-pack", "install", "$IN/none.iso"], exit: 64, says: "no such pack", "none.iso"),
        BadInput("a directory that is no pack", ["supp-pack", "install", "$IN/empty"], exit: 64, says: "not a supplemental pack") {
            try $0.input("empty/README", "nothing here\n")
        },
        BadInput("an originator climbing out", ["supp-pack", "install", "$IN/pack"], exit: 2, says: "originator is not a plain name", "XS-REPOSITORY") {
            try $0.pack("pack", repository: legacyRepository("../../../../tmp/dom0kit-escape", "driver"))
        },
        BadInput("a name with a slash", ["supp-pack", "install", "$IN/pack"], exit: 2, says: "name is not a plain name") {
            try $0.pack("pack", repository: legacyRepository("vendor", "a/b"))
        },
        BadInput("an originator with a colon", ["supp-pack", "install", "$IN/pack"], exit: 2, says: "originator is not a plain name") {
            try $0.pack("pack", repository: legacyRepository("ven:dor", "x"))
        },
        BadInput("a name starting with a dot", ["supp-pack", "verify", "$IN/pack"], exit: 2, says: "name is not a plain name") {
            try $0.pack("pack", repository: legacyRepository("vendor", ".hidden"))
        },
        BadInput("an update label climbing out", ["supp-pack", "install", "$IN/update"], exit: 2, says: "name-label is not a plain name") { site in
            try site.input("update/update.xml", "<update name-label=\"../../x\" version=\"1.0\"/>\n")
        },
        BadInput("a package named outside the pack", ["supp-pack", "install", "$IN/pack"], exit: 2, says: "../../../etc/passwd") {
            try $0.pack("pack", repository: legacyRepository("vendor", "evil"),
                        packages: "<packages><package label=\"x\" type=\"rpm\" size=\"1\" md5=\"0123456789abcdef0123456789abcdef\">../../../etc/passwd</package></packages>\n")
        },
        BadInput("XS-REPOSITORY without XS-PACKAGES", ["supp-pack", "install", "$IN/pack"], exit: 2, says: "no XS-PACKAGES") {
            try $0.input("pack/XS-REPOSITORY", legacyRepository("vendor", "driver"))
        },
        BadInput("an entity bomb", ["supp-pack", "verify", "$IN/pack"], exit: 2, says: "XS-REPOSITORY") {
            try $0.pack("pack", repository: "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n"
                        + "<repository originator=\"&b;\" name=\"x\" version=\"1\"/>\n")
        },
        BadInput("an external entity", ["supp-pack", "verify", "$IN/pack"], exit: 2, says: "XS-REPOSITORY") {
            try $0.pack("pack", repository: "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/os-release\">]>\n"
                        + "<repository originator=\"vendor\" name=\"&x;\" version=\"1\"/>\n")
        },
        BadInput("a package md5 that is not hex", ["supp-pack", "verify", "$IN/pack"], exit: 2, says: "bad md5") { site in
            try site.pack("pack", repository: legacyRepository("vendor", "driver"),
                          packages: "<packages><package label=\"x\" type=\"rpm\" size=\"1\" md5=\"zz\">x.rpm</package></packages>\n")
            try site.input("pack/x.rpm", "x")
        },
        BadInput("an unknown requirement test", ["supp-pack", "verify", "$IN/pack"], exit: 2, says: "unknown test 'about'") {
            try $0.pack("pack", repository: legacyRepository("vendor", "driver").replacing("</repository>",
                        with: "<requires originator=\"xs\" name=\"main\" test=\"about\" version=\"8\"/></repository>"))
        },
        BadInput("a pack for another product", ["supp-pack", "install", "$IN/pack"], exit: 2, says: "not for this XCP-ng host") {
            try $0.pack("pack", repository: legacyRepository("vendor", "driver").replacing("product=\"XCP-ng\"", with: "product=\"XenServer\""))
        },
        BadInput("an unmet requirement", ["supp-pack", "install", "$IN/pack"], exit: 2, says: "unmet requirements") {
            try $0.pack("pack", repository: legacyRepository("vendor", "driver").replacing("</repository>",
                        with: "<requires originator=\"xs\" name=\"main\" test=\"ge\" version=\"9.0\"/></repository>"))
        },
        BadInput("a licence not accepted", ["supp-pack", "install", "$IN/pack"], exit: 2, says: "licence") { site in
            try site.pack("pack", repository: legacyRepository("vendor", "driver"))
            try site.input("pack/EULA", "You agree.\n")
        },
        BadInput("a link leaving the pack", ["supp-pack", "verify", "$IN/pack"], exit: 2, says: "link leading out") { site in
            try site.pack("pack", repository: legacyRepository("vendor", "driver"))
            try FileSystem.symlink("../../../../../etc/shadow", at: site.inputs.appending("pack/shadow"))
        },
        BadInput("remove without a colon", ["supp-pack", "remove", "nonsense"], exit: 64, says: "ORIGINATOR:NAME", "\"nonsense\""),
        BadInput("remove climbing out", ["supp-pack", "remove", "../../etc:x"], exit: 64, says: "is not a pack's name"),
        BadInput("remove of a pack not installed", ["supp-pack", "remove", "vendor:driver"], exit: 64, says: "vendor:driver is not installed"),
        BadInput("remove of the product record", ["supp-pack", "remove", "xs:main"], exit: 2, says: "host's own product record"),
        BadInput("a malformed --product", ["supp-pack", "install", "$IN/pack", "--product", "bogus"], exit: 64, says: "--product takes NAME:VERSION") {
            try $0.pack("pack", repository: legacyRepository("vendor", "driver"))
        },
        BadInput("a truncated ISO", ["supp-pack", "verify", "$IN/pack.iso"], exit: 1, says: "pack.iso") {
            try $0.input("pack.iso", String(repeating: "\u{0}", count: 40_000) + "CD001")
        },
    ]

    static let controlSlice: [BadInput] = [
        BadInput("a negative weight", ["control-slice", "apply", "--weight", "-5"], exit: 64, says: "--weight takes 1 to 10000"),
        BadInput("a zero weight", ["control-slice", "apply", "--weight", "0"], exit: 64, says: "--weight takes 1 to 10000"),
        BadInput("a weight too large", ["control-slice", "apply", "--weight", "20000"], exit: 64, says: "--weight takes 1 to 10000"),
        BadInput("a weight that is a word", ["control-slice", "apply", "--weight", "lots"], exit: 64, says: "lots"),
        BadInput("shares too small", ["control-slice", "apply", "--shares", "1"], exit: 64, says: "--shares takes 2 to 262144"),
        BadInput("weight and shares", ["control-slice", "apply", "--weight", "100", "--shares", "1024"], exit: 64, says: "not both"),
        BadInput("a slice name that is no slice", ["control-slice", "apply", "--slice", "../evil"], exit: 64, says: "'../evil' is not a unit name"),
        BadInput("a unit name with a slash", ["control-slice", "apply", "--unit", "../../etc/passwd"], exit: 64, says: "is not a unit name"),
        BadInput("a record listing /etc/os-release", ["control-slice", "remove"], exit: 2, says: "never writes", "/etc/os-release") { site in
            try site.write("/var/lib/dom0kit/control-slice.record", "{\"directories\": [], \"files\": [\"/etc/os-release\"]}\n")
        },
        BadInput("a record listing /home", ["control-slice", "remove"], exit: 2, says: "never makes", "/home") { site in
            try site.write("/var/lib/dom0kit/control-slice.record", "{\"directories\": [\"/home\"], \"files\": []}\n")
        },
        BadInput("a damaged record", ["control-slice", "remove"], exit: 1, says: "cannot read the record", "control-slice.record") { site in
            try site.write("/var/lib/dom0kit/control-slice.record", "not json\n")
        },
        BadInput("a config with an unknown section", ["control-slice", "apply"], exit: 64, says: "unknown section", "control-slice.conf:1") { site in
            try site.write("/etc/dom0kit/control-slice.conf", "[Slcie]\nCPUWeight=100\n")
        },
        BadInput("a config weight out of range", ["control-slice", "apply"], exit: 64, says: "out of range", "control-slice.conf:2") { site in
            try site.write("/etc/dom0kit/control-slice.conf", "[Slice]\nCPUWeight=0\n")
        },
        BadInput("a config line without =", ["control-slice", "apply"], exit: 64, says: "expected KEY=VALUE", "control-slice.conf:2") { site in
            try site.write("/etc/dom0kit/control-slice.conf", "[Slice]\nCPUWeight\n")
        },
        BadInput("a config key outside a section", ["control-slice", "apply"], exit: 64, says: "outside a section") { site in
            try site.write("/etc/dom0kit/control-slice.conf", "CPUWeight=100\n")
        },
        BadInput("a config unit name that is no unit", ["control-slice", "apply"], exit: 64, says: "is not a unit name", "control-slice.conf:2") { site in
            try site.write("/etc/dom0kit/control-slice.conf", "[Members]\nUnits=../../x\n")
        },
    ]

    static let pcibackAgent: [BadInput] = [
        BadInput("restore of a malformed address", ["pciback-agent", "restore", "0000.01:00.0"], exit: 64, says: "not a PCI address"),
        BadInput("restore of nothing", ["pciback-agent", "restore"], exit: 64, says: "Missing expected argument '<BDF>"),
        BadInput("restore of a device not on the bus", ["pciback-agent", "restore", "0000:09:00.0"], exit: 64, says: "no such device", "0000:09:00.0"),
        BadInput("a rule with an unknown driver", ["pciback-agent", "once"], exit: 64, says: "pciback.conf:1") { site in
            try site.write("/etc/dom0kit/pciback.conf", "0000:04:00.0 virtio\n")
        },
        BadInput("a rule with a bad address", ["pciback-agent", "once"], exit: 64, says: "pciback.conf:2") { site in
            try site.write("/etc/dom0kit/pciback.conf", "# mine\n0000:zz:00.0 pciback\n")
        },
        BadInput("a rule with bad ids", ["pciback-agent", "once"], exit: 64, says: "pciback.conf:1") { site in
            try site.write("/etc/dom0kit/pciback.conf", "id 10de:zzzz vfio-pci\n")
        },
        BadInput("a rule with a bad class", ["pciback-agent", "once"], exit: 64, says: "pciback.conf:1") { site in
            try site.write("/etc/dom0kit/pciback.conf", "class display pci-stub\n")
        },
        BadInput("a rule with a bad vfs-of", ["pciback-agent", "once"], exit: 64, says: "pciback.conf:1") { site in
            try site.write("/etc/dom0kit/pciback.conf", "vfs-of 05:00 vfio-pci\n")
        },
        BadInput("a rule with a terminal escape", ["pciback-agent", "once", "--dry-run"], exit: 64, says: "\\u{1b}", "pciback.conf:1") { site in
            try site.write("/etc/dom0kit/pciback.conf", "\u{1b}[2J pciback\n")
        },
        BadInput("a malformed running hide list", ["pciback-agent", "once"], exit: 64, says: "xen-pciback.hide") { site in
            try site.write("/proc/cmdline", "root=LABEL=root ro xen-pciback.hide=(0000:04:00.0\n")
        },
        BadInput("health with a bad rule", ["pciback-agent", "health"], exit: 1, says: "pciback.conf:1") { site in
            try site.write("/etc/dom0kit/pciback.conf", "0000:04:00.0\n")
        },
        BadInput("run with an unknown flag", ["pciback-agent", "run", "--forse"], exit: 64, says: "--forse"),
    ]

    static let hostPrepare: [BadInput] = [
        BadInput("a missing spec", ["host-prepare", "plan", "$IN/none.yaml"], exit: 64, says: "no such spec", "none.yaml"),
        BadInput("another file as the spec", ["host-prepare", "plan", "$IN/passwd"], exit: 64, says: "found a text of", "passwd:1") {
            try $0.input("passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
        },
        BadInput("a spec with an unknown key", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "unknown key \"wpie\"", "host.yaml:3") {
            try $0.input("host.yaml", "disk:\n  device: /dev/sda\n  wpie: true\n")
        },
        BadInput("a spec with a wrong type", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "expected true or false", "host.yaml:3") {
            try $0.input("host.yaml", "disk:\n  device: /dev/sda\n  wipe: \"true\"\n")
        },
        BadInput("a spec with grub syntax in xen_args", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "is not one argument", "host.yaml:2") {
            try $0.input("host.yaml", "boot:\n  xen_args: [\"a;reboot\"]\n")
        },
        BadInput("a spec with dom0_mem 0M", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "too small for dom0", "host.yaml:2") {
            try $0.input("host.yaml", "boot:\n  dom0_mem: {min: 0M}\n")
        },
        BadInput("a spec with dom0_mem=0 in xen_args", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "too small for dom0") {
            try $0.input("host.yaml", "boot:\n  xen_args: [dom0_mem=0]\n")
        },
        BadInput("a spec with dom0 vcpus 0", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "dom0.vcpus", "host.yaml:2") {
            try $0.input("host.yaml", "dom0:\n  vcpus: 0\n")
        },
        BadInput("a spec with dom0 vcpus MIN over MAX", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "dom0.vcpus", "MIN exceeds MAX") {
            try $0.input("host.yaml", "dom0:\n  vcpus: 8-2\n")
        },
        BadInput("a spec with dom0 weight 0", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "dom0.weight", "out of range", "host.yaml:3") {
            try $0.input("host.yaml", "dom0:\n  pin: true\n  weight: 0\n")
        },
        BadInput("a spec with dom0 weight 70000", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "dom0.weight", "1 to 65535") {
            try $0.input("host.yaml", "dom0:\n  weight: 70000\n")
        },
        BadInput("a spec with a negative dom0 node", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "dom0.nodes[1]", "\"-1\"") {
            try $0.input("host.yaml", "dom0:\n  nodes: [0, -1]\n")
        },
        BadInput("a spec with an unknown sched_gran", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "dom0.sched_gran", "cpu, core, socket") {
            try $0.input("host.yaml", "dom0:\n  sched_gran: thread\n")
        },
        BadInput("a spec setting dom0_max_vcpus twice", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64,
                 says: "boot.xen_args[0]", "set by the dom0 section too") {
            try $0.input("host.yaml", "dom0:\n  vcpus: 4\nboot:\n  xen_args: [dom0_max_vcpus=1-8]\n")
        },
        BadInput("dom0-cpus with nothing to set", ["host-prepare", "boot", "dom0-cpus"], exit: 64, says: "needs at least one of"),
        BadInput("dom0-cpus with vcpus 9-2", ["host-prepare", "boot", "dom0-cpus", "--vcpus", "9-2"], exit: 64, says: "MIN exceeds MAX"),
        BadInput("dom0-sched set with weight 0", ["host-prepare", "dom0-sched", "set", "--weight", "0"], exit: 64, says: "weight 0 is out of range"),
        BadInput("dom0-sched set where the unit is not installed", ["host-prepare", "dom0-sched", "set", "--weight", "512"], exit: 2,
                 says: "host-prepare-dom0-sched.service is not installed"),
        BadInput("dom0-sched apply under a root", ["host-prepare", "dom0-sched", "apply", "--root", "$ROOT"], exit: 64, says: "takes no --root"),
        BadInput("a spec hiding a bad address", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "boot.hide[0]", "host.yaml:2") {
            try $0.input("host.yaml", "boot:\n  hide: [0000:zz:00.0]\n")
        },
        BadInput("a spec rule with a bad driver", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "devices.rules[0]") {
            try $0.input("host.yaml", "devices:\n  rules: [\"0000:04:00.0 virtio\"]\n")
        },
        BadInput("a spec with a relative pack", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "is not an absolute path") {
            try $0.input("host.yaml", "packs:\n  sources: [relative.iso]\n")
        },
        BadInput("a spec with an alias", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "aliases") {
            try $0.input("host.yaml", "boot:\n  hide: &h [0000:01:00.0]\ndevices:\n  rules: *h\n")
        },
        BadInput("a spec of two documents", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "one YAML document") {
            try $0.input("host.yaml", "agent: {enable: true}\n---\nagent: {enable: false}\n")
        },
        BadInput("a spec with a key twice", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "appears twice") {
            try $0.input("host.yaml", "agent: {enable: true}\nagent: {enable: false}\n")
        },
        BadInput("a spec that is not YAML", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "not valid YAML", "host.yaml:") {
            try $0.input("host.yaml", "boot:\n  hide: [0000:01:00.0\n")
        },
        BadInput("a spec nested too deep", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "host.yaml") {
            try $0.input("host.yaml", String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
        },
        BadInput("an empty spec", ["host-prepare", "plan", "$IN/host.yaml"], exit: 64, says: "the spec is empty") { try $0.input("host.yaml", "") },
        BadInput("apply of a spec whose pack is missing", ["host-prepare", "apply", "$IN/host.yaml"], exit: 64, says: "no such pack") { site in
            try site.input("host.yaml", "packs:\n  sources: [\(site.inputs.string)/none.iso]\n")
        },
        BadInput("apply of a hostile pack", ["host-prepare", "apply", "$IN/host.yaml"], exit: 2, says: "originator is not a plain name") { site in
            try site.pack("pack", repository: legacyRepository("../../../../tmp/dom0kit-escape", "driver"))
            try site.input("host.yaml", "packs:\n  sources: [\(site.inputs.string)/pack]\n")
        },
        BadInput("plan with --reboot", ["host-prepare", "plan", "$IN/host.yaml", "--reboot"], exit: 64, says: "--reboot") {
            try $0.input("host.yaml", "agent: {enable: false}\n")
        },
        BadInput("check of a missing spec", ["host-prepare", "check", "$IN/none.yaml"], exit: 64, says: "no such spec"),
        BadInput("firstboot of a bad spec", ["host-prepare", "firstboot"], exit: 64, says: "unknown key", "/etc/dom0kit/host.yaml:1") { site in
            try site.write("/etc/dom0kit/host.yaml", "bootloader: {}\n")
        },
        BadInput("boot dom0-mem -1", ["host-prepare", "boot", "dom0-mem", "-1"], exit: 64, says: "malformed size in dom0_mem", "-1"),
        BadInput("boot dom0-mem without a size", ["host-prepare", "boot", "dom0-mem"], exit: 64, says: "needs dom0's memory"),
        BadInput("boot dom0-mem with two sizes", ["host-prepare", "boot", "dom0-mem", "1G", "2G"], exit: 64, says: "takes one size"),
        BadInput("boot dom0-mem with --max -1", ["host-prepare", "boot", "dom0-mem", "4G", "--max", "-1"], exit: 64, says: "malformed size"),
        BadInput("boot dom0-mem 0", ["host-prepare", "boot", "dom0-mem", "0"], exit: 64, says: "too small for dom0"),
        BadInput("boot hide add of a bad address", ["host-prepare", "boot", "hide", "add", "0000:zz:00.0"], exit: 64, says: "0000:zz:00.0"),
        BadInput("boot hide add of nothing", ["host-prepare", "boot", "hide", "add"], exit: 64, says: "needs"),
        BadInput("boot hide list with an address", ["host-prepare", "boot", "hide", "list", "0000:01:00.0"], exit: 64, says: "takes no"),
        BadInput("boot vfio add of a bad id", ["host-prepare", "boot", "vfio", "add", "10de"], exit: 64, says: "10de"),
        BadInput("the demo with --root", ["host-prepare", "demo", "--root", "$ROOT"], exit: 64, says: "--root"),
        BadInput("the demo in a directory of other files", ["host-prepare", "demo", "$IN"], exit: 2, says: "refusing to build the demo") {
            try $0.input("notes.txt", "mine\n")
        },
        BadInput("pack install of a missing pack", ["host-prepare", "pack", "install", "$IN/none.iso"], exit: 64, says: "no such pack"),
        BadInput("slice apply with a bad weight", ["host-prepare", "slice", "apply", "--weight", "-5"], exit: 64, says: "--weight takes 1 to 10000"),
        BadInput("disk plan of a missing disk", ["host-prepare", "disk", "plan", "--disk", "$IN/none.img"], exit: 64, says: "no such disk"),
        BadInput("an unknown tool", ["frobnicate"], exit: 64, says: "unknown tool 'frobnicate'"),
    ]

    static let all = xenCmdline + dom0Partition + suppPack + controlSlice + pcibackAgent + hostPrepare

    @Test func thereAreAtLeastAHundredAcrossTheSixTools() {
        #expect(Self.all.count >= 100, "\(Self.all.count) cases")
        for tool in ["xen-cmdline", "dom0-partition", "supp-pack", "control-slice", "pciback-agent", "host-prepare"] {
            #expect(Self.all.contains { $0.argv.first == tool }, "\(tool) has cases")
        }
    }

    @Test(arguments: all)
    func isRefusedClearlyAndChangesNothing(_ input: BadInput) async throws {
        let site = try BadInputSite()
        try input.setup(site)
        let before = try directorySnapshot(site.directory.path)
        let argv = input.argv.map { $0.replacing("$ROOT", with: site.root.string).replacing("$IN", with: site.inputs.string) }
        // The demo builds its own host; every other command works on the site's root.
        let root = argv.contains("--root") || argv.first == "frobnicate" || argv.prefix(2) == ["host-prepare", "demo"]
            ? [] : ["--root", site.root.string]
        let result = try await CommandRunner(timeout: .seconds(120), environment: ["TMPDIR": site.tmp.string])
            .run([BuiltProducts.executable("dom0kit").string] + argv + root)
        #expect(result.status == input.status, "exit \(result.status): \(result.stderr)")
        // The message is on stderr; health reports a check that could not run in its own output.
        let message = result.stderr + (argv.contains("health") ? result.stdout : "")
        for words in input.says {
            #expect(message.contains(words), "the message names \(words.debugDescription): \(message)")
        }
        #expect(message.contains("fix:") || message.contains("Usage:") || message.contains("--help"), "the message says what to do: \(message)")
        #expect(!(result.stdout + result.stderr).unicodeScalars.contains { $0.value == 0x1b }, "no terminal escape reaches the terminal")
        #expect(result.stdout.isEmpty || input.status != 64, "a usage error prints nothing to stdout: \(result.stdout)")
        let after = try directorySnapshot(site.directory.path)
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
        #expect(changed.isEmpty, "nothing written, nothing left behind: \(changed)")
        #expect(try FileSystem.status("/tmp/dom0kit-escape") == nil, "nothing outside the root")
    }
}
