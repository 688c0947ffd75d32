import BootConfig
import Dom0Core
import PCIDevices
import Testing

@Suite("The knobs' values")
struct KnobTests {
    @Test(arguments: [
        ("(0000:04:01.0)(0000:00:19.0)", "(0000:04:01.0)(0000:00:19.0)"),
        ("(04:01.0)(00:19.0)", "(0000:04:01.0)(0000:00:19.0)"),
        ("(0000:0A:00.*)(0b:*.*)", "(0000:0a:00.*)(0000:0b:*.*)"),
        ("(0000:04:01.0)(04:01.0)", "(0000:04:01.0)"),
        ("", ""),
    ])
    func hideListsAreCanonicalDeduplicatedAndKeepTheirOrder(value: String, canonical: String) throws {
        #expect(try HideList(parsing: value).description == canonical)
    }

    @Test(arguments: ["(0000.02:00.3)", "0000:04:01.0", "(0000:04:01.0", "(04:*.0)", "(0000:04:20.0)", "()", "(zz:00.0)"])
    func malformedHideListsAreRejectedNamingTheValue(value: String) {
        #expect(throws: Dom0Error.self) { try HideList(parsing: value) }
    }

    @Test func wildcardPatternsMatchAsTheKernelDoes() throws {
        let function = try #require(PCISlotPattern("0000:04:00.*"))
        let slot = try #require(PCISlotPattern("04:*.*"))
        #expect(function.matches(try #require(BDF("0000:04:00.3"))))
        #expect(!function.matches(try #require(BDF("0000:04:01.0"))))
        #expect(slot.matches(try #require(BDF("0000:04:1f.7"))))
    }

    @Test(arguments: [
        ("512M", true), ("4096M,max:4096M", true), ("max:8G,4G", true), ("min:1G,max:4G,2G", true), ("1048576", true),
        ("4G,max:2G", false), ("min:4G,max:2G", false), ("4Q", false), ("max:", false), ("lots", false), ("", false),
        // dom0 cannot boot on nothing: 0 or a size as small is refused, whichever part carries it.
        ("0", false), ("0M", false), ("4G,max:0", false), ("min:0M,4G", false), ("64M", false), ("128M", true),
    ])
    func dom0MemoryFollowsXensGrammarAndBounds(value: String, valid: Bool) {
        #expect(((try? Dom0Memory(parsing: value)) != nil) == valid)
    }

    @Test func sizesConvertWithTheirSuffixes() throws {
        #expect(XenSize("4G")?.bytes == 4 << 30)
        #expect(XenSize("512m")?.bytes == 512 << 20)
        #expect(XenSize("1024")?.bytes == 1024 << 10, "no suffix means kilobytes")
        #expect(XenSize("2T")?.bytes == 2 << 40)
    }

    @Test(arguments: [
        ("on", true), ("force,intremap", true), ("no-sharept,dom0-passthrough", true), ("intpost=1,verbose", true),
        ("quarantine=scratch-page", true), ("0", true),
        ("bogus", false), ("force=maybe", false), ("", false), ("no-on", false),
    ])
    func xenIOMMUValuesAreXensDocumentedOnes(value: String, valid: Bool) {
        #expect(((try? XenIOMMU(parsing: value)) != nil) == valid)
    }

    @Test func vfioIDsAreCheckedLowerCasedAndDeduplicated() throws {
        var ids = try VFIOIDs(parsing: "10DE:1C81,10de:0fb9")
        #expect(ids.description == "10de:1c81,10de:0fb9")
        #expect(try ids.add("10de:1c81") == false)
        #expect(try ids.remove("10de:0fb9"))
        #expect(ids.description == "10de:1c81")
        #expect(throws: Dom0Error.self) { try VFIOIDs(parsing: "10de-1c81") }
        #expect(throws: Dom0Error.self) { try VFIOIDs(parsing: "10de:1c8") }
    }

    @Test func setArgumentsOfKnownKeysAreValidatedOnTheirLine() {
        #expect(throws: Dom0Error.self) { try BootSetting(parsing: "xen-pciback.hide=(0000.02:00.3)", on: .dom0) }
        #expect(throws: Dom0Error.self) { try BootSetting(parsing: "dom0_mem=4G,max:2G", on: .xen) }
        #expect(throws: Dom0Error.self) { try BootSetting(parsing: "=value", on: .xen) }
        #expect(throws: Never.self) { try BootSetting(parsing: "dom0_mem=4G,max:2G", on: .dom0) }
    }
}
