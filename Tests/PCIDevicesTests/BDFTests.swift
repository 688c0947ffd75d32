import FoundationEssentials
import PCIDevices
import Testing

@Suite("PCI addresses")
struct BDFTests {
    @Test(arguments: [
        ("0000:04:01.0", "0000:04:01.0"), ("04:01.0", "0000:04:01.0"), ("0000:AF:1F.7", "0000:af:1f.7"),
        ("10000:00:00.0", nil), ("0000:04:01", nil), ("0000:04:20.0", nil), ("0000:04:01.8", nil),
        ("0000:4:01.0", nil), ("0000:04:01.0 ", nil), ("", nil), ("zz:00.0", nil), ("0000:00:00:00.0", nil),
        ("0000:04.01:0", nil), ("04.01:0", nil), ("\u{FF10}4:01.0", nil), ("+000:04:01.0", nil), ("0000:04:01.0\n", nil),
    ] as [(String, String?)])
    func parsesTheFormsTheKernelAndXenUse(text: String, canonical: String?) {
        #expect(BDF(text)?.description == canonical)
    }

    @Test func parsesPartOfALine() {
        let line = "pciback 0000:3b:00.1 bound"
        #expect(BDF(line.split(separator: " ")[1])?.description == "0000:3b:00.1")
    }

    @Test func ordersByDomainBusDeviceFunction() {
        let sorted = ["0000:01:00.1", "0000:00:1f.6", "0001:00:00.0", "0000:01:00.0"].compactMap { BDF($0) }.sorted()
        #expect(sorted.map(\.description) == ["0000:00:1f.6", "0000:01:00.0", "0000:01:00.1", "0001:00:00.0"])
    }

    @Test func encodesAsItsCanonicalString() throws {
        let bdf = try #require(BDF("04:00.0"))
        let data = try JSONEncoder().encode([bdf])
        #expect(String(decoding: data, as: UTF8.self) == "[\"0000:04:00.0\"]")
        #expect(try JSONDecoder().decode([BDF].self, from: data) == [bdf])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([BDF].self, from: Data("[\"04:00\"]".utf8)) }
    }
}
