import BootConfig
import Dom0Core
import Dom0KitDemo
import HostSpec
import PCIDevices
import SystemPackage
import Testing
import TestSupport

/// The error a spec text gives.
func specError(_ text: String) throws -> Dom0Error {
    try #require(throws: Dom0Error.self) { try HostSpec.parse(text, file: "host.yaml") }
}

@Suite("Host specs: strict, with errors naming the file, line and key path")
struct SpecParsingTests {
    @Test func theDom0SectionReadsIntoXensArgumentsAndTheWeight() throws {
        let spec = try HostSpec.parse("""
            dom0:
              vcpus: 2-8
              pin: true
              nodes: [1, 0, relaxed]
              weight: 512
              cap: 0
              sched_gran: core
            """, file: "host.yaml")
        let dom0 = try #require(spec.dom0)
        #expect(try dom0.cpus.edits == [.set(.xen, "dom0_max_vcpus=2-8"), .set(.xen, "dom0_vcpus_pin"),
                                    .set(.xen, "dom0_nodes=1,0,relaxed"), .set(.xen, "sched-gran=core")])
        #expect(dom0.sched == (try Dom0Sched(weight: 512, cap: 0)))
        #expect(spec.bootSettings?.style == .auto && spec.bootSettings?.settings.dom0CPUs == dom0.cpus,
                "the boot lines are planned without a boot section")
        #expect(try HostSpec.parse("dom0:\n  weight: 768\n", file: "h").bootSettings == nil, "a weight alone leaves the boot lines")
    }

    @Test(arguments: [
        ("dom0:\n  vcpus: 0\n", "dom0.vcpus", "host.yaml:2"),
        ("dom0:\n  vcpus: \"+4\"\n", "dom0.vcpus", "host.yaml:2"),
        ("dom0:\n  pin: yes\n", "dom0.pin", "host.yaml:2"),
        ("dom0:\n  nodes: 0\n", "dom0.nodes", "host.yaml:2"),
        ("dom0:\n  nodes: [relaxed]\n", "dom0.nodes", "host.yaml:2"),
        ("dom0:\n  weight: 65536\n", "dom0.weight", "host.yaml:2"),
        ("dom0:\n  cap: -1\n", "dom0.cap", "host.yaml:2"),
        ("dom0:\n  sched_gran: smt\n", "dom0.sched_gran", "host.yaml:2"),
        ("dom0:\n  vcpu: 4\n", "unknown key \"vcpu\"", "host.yaml:2"),
        ("dom0:\n  sched_gran: core\nboot:\n  xen_args: [sched-gran=cpu]\n", "boot.xen_args[0]", "host.yaml:4"),
    ])
    func aBadDom0SectionIsRefusedAtItsKey(text: String, path: String, location: String) throws {
        let error = try specError(text)
        #expect(error.what.contains(path), "\(error)")
        #expect(error.location == location, "\(error)")
    }

    @Test func aFullSpecReadsIntoEachSection() throws {
        let spec = try HostSpec.parse("""
            disk:
              device: /dev/sda
              firmware: bios
              wipe: true
              upgrade: convert
            packs:
              accept_eula: true
              sources: [/srv/a.iso, /srv/b]
            boot:
              style: xenserver
              iommu: true
              dom0_mem: {min: 4096M, max: 8G}
              hide:
                - 0000:01:00.0
                - bdf: 01:00.1
                  note: its audio
              vfio_ids: ["10de:1c81"]
              xen_args: [sched-gran=core]
              dom0_args: [nomodeset]
            control_slice:
              shares: 10240
              members: [xapi, sshd.service]
            devices:
              rules: [0000:01:00.* pciback]
            agent:
              enable: true
            """, file: "host.yaml")
        #expect(spec.disk?.device == "/dev/sda" && spec.disk?.firmware == .bios && spec.disk?.wipe == true)
        #expect(spec.disk?.upgrade == .convert && spec.disk?.layout == .xs8 && spec.disk?.mkfs == false)
        #expect(spec.packs?.sources == ["/srv/a.iso", "/srv/b"] && spec.packs?.acceptEULA == true)
        let boot = try #require(spec.boot)
        #expect(try boot.style == .xenserver && boot.settings.iommu == (XenIOMMU(parsing: "on")))
        #expect(try boot.settings.dom0Memory == (Dom0Memory(amount: "4096M", maximum: "8G")))
        #expect(try boot.settings.hide == (HideList(addresses: ["0000:01:00.0", "01:00.1"])) && boot.settings.vfioIDs == (VFIOIDs(["10de:1c81"])))
        #expect(boot.settings.xenArguments == [.schedGranularity(.core)])
        #expect(boot.settings.dom0Arguments == [.argument(.dom0, try BootArgument("nomodeset"))])
        #expect(spec.controlSlice?.cpuWeight == 1000, "shares 10240 is weight 1000")
        #expect(spec.controlSlice?.members == ["xapi.service", "sshd.service"])
        #expect(try spec.devices?.rules.map(\.match) == (BindRules.parse("0000:01:00.* pciback", file: "")).map(\.match))
        #expect(spec.devices?.rules.map(\.driver) == [.pciback])
        #expect(spec.enableAgent)
    }

    @Test func jsonIsAcceptedAsYAML() throws {
        let spec = try HostSpec.parse(#"{"boot": {"hide": ["0000:04:00.0"]}, "agent": {"enable": false}}"#, file: "host.json")
        #expect(try spec.boot?.settings.hide == (HideList(addresses: ["0000:04:00.0"])))
        #expect(!spec.enableAgent)
        #expect(spec.disk == nil && spec.packs == nil)
    }

    @Test(arguments: [
        // An unknown key names the mapping's path and the key, at the key's line.
        ("boot:\n  hide:\n    - 0000:01:00.0\n    - 0000:01:00.1\n    - bfd: 0000:04:00.0\n",
         #"boot.hide[2]: unknown key "bfd""#, "host.yaml:5"),
        ("disk:\n  device: /dev/sda\n  wpie: true\n", #"disk: unknown key "wpie""#, "host.yaml:3"),
        ("bootloader:\n  style: debian\n", #"the spec: unknown key "bootloader""#, "host.yaml:2"),
        // Wrong types.
        ("disk:\n  device: /dev/sda\n  wipe: yes please\n", #"disk.wipe: expected true or false, found "yes please""#, "host.yaml:3"),
        ("disk:\n  device: /dev/sda\n  wipe: \"true\"\n", #"disk.wipe: expected true or false, found "true""#, "host.yaml:3"),
        ("control_slice:\n  weight: lots\n", #"control_slice.weight: expected a number, found "lots""#, "host.yaml:2"),
        ("control_slice:\n  weight: 20000\n", "control_slice.weight: 20000 is out of range", "host.yaml:2"),
        ("control_slice:\n  weight: 99999999999999999999\n", "control_slice.weight: 99999999999999999999 is too large", "host.yaml:2"),
        ("boot:\n  hide: 0000:01:00.0\n", #"boot.hide: expected a list, found "0000:01:00.0""#, "host.yaml:2"),
        ("boot:\n  hide: [0000:zz:00.0]\n", "boot.hide[0]:", "host.yaml:2"),
        ("boot:\n  style: lilo\n", #"boot.style: "lilo" is not one of auto, xenserver, debian, debian-dropin"#, "host.yaml:2"),
        ("devices:\n  rules: [0000:04:00.0 virtio]\n", "devices.rules[0]: the last word must be one of", "host.yaml:2"),
        ("packs:\n  sources: [relative.iso]\n", #"packs.sources[0]: "relative.iso" is not an absolute path"#, "host.yaml:2"),
        ("- disk\n", "the spec: expected a mapping", "host.yaml:1"),
        // Another file given as the spec: its content is never quoted.
        ("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
         "the spec: expected a mapping (key: value lines), found a text of 79 characters (is this a host spec?)", "host.yaml:1"),
        // The one rule for boot arguments, as xen-cmdline's.
        ("boot:\n  dom0_args: [\"it's\"]\n", #"boot.dom0_args[0]: "it's" is not one argument: a single quote is GRUB script syntax"#, "host.yaml:2"),
        ("boot:\n  xen_args: [\"a;reboot\"]\n", #"boot.xen_args[0]: "a;reboot" is not one argument: ';' is GRUB script syntax"#, "host.yaml:2"),
        ("boot:\n  dom0_args: [\"x=a b\"]\n", #"boot.dom0_args[0]: "x=a b" is not one argument"#, "host.yaml:2"),
        ("boot:\n  xen_args: [dom0_mem=0]\n", "boot.xen_args[0]: dom0_mem=0: the amount 0 is too small for dom0", "host.yaml:2"),
        ("boot:\n  dom0_mem: {min: 0M}\n", "boot.dom0_mem: dom0_mem=0M: the amount 0M is too small for dom0", "host.yaml:2"),
        ("boot:\n  dom0_args: [\"quiet\\n}\"]\n", #"boot.dom0_args[0]: "quiet\n}" is not one argument: it holds a control character"#, "host.yaml:2"),
        // Missing values.
        ("disk:\n  layout: xs8\n", "disk.device: missing value (the key is required)", "host.yaml:2"),
        ("disk:\n  device:\n", "disk.device: missing value", "host.yaml:2"),
        ("boot:\n  dom0_mem: {max: 8G}\n", "boot.dom0_mem.min: missing value", "host.yaml:2"),
        ("agent: {}\n", "agent.enable: missing value", "host.yaml:1"),
    ])
    func badSpecsAreRefusedNamingThePath(text: String, message: String, location: String) throws {
        let error = try specError(text)
        #expect(error.status == .usage)
        #expect(error.what.hasPrefix(message), "\(error)")
        #expect(error.location == location, "\(error)")
    }

    @Test func syntaxErrorsAndYAMLFeaturesASpecDoesNotUseAreRefused() throws {
        let syntax = try specError("boot:\n  hide: [0000:01:00.0\n")
        #expect(syntax.what.hasPrefix("not valid YAML"))
        #expect(syntax.location?.hasPrefix("host.yaml:") == true)
        #expect(try specError("disk:\n  device: /dev/sda\ndisk:\n  device: /dev/sdb\n").what.contains(#"the key "disk" appears twice"#))
        #expect(try specError("a: &x {enable: true}\nagent: *x\n").what.contains("aliases"))
        #expect(try specError("agent: {enable: true}\n---\nagent: {enable: false}\n").what.contains("one YAML document"))
        #expect(try specError("# only a comment\n").what == "the spec is empty")
    }

    @Test func aMissingSpecFileIsAUsageError() throws {
        let error = try #require(throws: Dom0Error.self) { try HostSpec.load("/nonexistent/host.yaml") }
        #expect(error.status == .usage)
        #expect(error.location == "/nonexistent/host.yaml")
    }

    static let examples = FilePath(#filePath).removingLastComponent().removingLastComponent().removingLastComponent()
        .appending("installer/examples")

    @Test(arguments: ["xcp-ng-gpu-passthrough.yaml", "debian-xen-sriov.yaml", "minimal.json"])
    func everyExampleReadsAndPlansOnTheDemoHost(name: String) async throws {
        let spec = try HostSpec.load(Self.examples.appending(name))
        let host = try DemoFixture()
        try host.installUnits()
        // Packs name media only a real host has (the ISO the vendor shipped): the rest is planned.
        var rest = spec
        rest.packs = nil
        let plan = try await HostPlanner(root: host.root).plan(rest)
        #expect(!plan.isEmpty, "\(name) changes the demo host")
        if let packs = spec.packs { #expect(packs.sources.allSatisfy { $0.isAbsolute }) }
    }
}
