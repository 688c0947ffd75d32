import Dom0Core
import SystemPackage
import Testing

@Suite("Errors say what, where, why and what to do")
struct ErrorTests {
    @Test func exitStatusesAreThoseOfDesignMd() {
        #expect([ExitStatus.success, .failed, .refused, .alreadyInstalled, .usage].map(\.rawValue) == [0, 1, 2, 3, 64])
    }

    @Test func theDescriptionJoinsTheFourParts() {
        let error = Dom0Error(.refused, "refusing to partition", at: "/dev/sda", why: "partition 1 is mounted on /",
                              fix: "boot from other media")
        #expect(error.description == "refusing to partition: /dev/sda: partition 1 is mounted on /\n  fix: boot from other media")
    }

    /// A remedy names settings; the front end the operator used words them.
    @Test func aRemedyIsWordedByTheFrontEnd() {
        let wipe = Setting(commandLine: "pass --wipe", spec: "set disk.wipe: true")
        let force = Setting(commandLine: "pass --force")
        let error = Dom0Error(.refused, "refusing", fix: "\(set: wipe) to destroy it, or \(set: force)")
        #expect(error.fix == "pass --wipe to destroy it, or pass --force")
        #expect(error.description.hasSuffix("\n  fix: pass --wipe to destroy it, or pass --force"))
        let told = error.told(through: .spec)
        #expect(told.fix == "set disk.wipe: true to destroy it, or pass --force to the tool itself (no spec key says it)")
        #expect(told.description.contains("set disk.wipe: true"))
    }

    @Test func systemErrorsNameTheErrnoAndSuggestAFix() {
        let error = Dom0Error.system("cannot write", at: "/etc/default/grub", .permissionDenied)
        #expect(error.why == "Permission denied (errno 13)")
        #expect(error.fix?.contains("--root") == true)
        #expect(error.status == .failed)
    }
}

@Suite("Errors never send control characters to the terminal")
struct ErrorPrintingTests {
    @Test func aTerminalEscapeFromAFileIsShownEscaped() {
        let error = Dom0Error("bad value", at: "/etc/x:3", why: "found \u{1b}[2J\u{7}here\nand\tthere", fix: "edit it")
        #expect(!error.description.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 })
        #expect(error.description.contains("found \\u{1b}[2J\\u{7}here\nand\tthere"), "newlines and tabs stay")
    }

    @Test func numbersAreWrittenWithAFixedNumberOfPlaces() {
        #expect(12.3.fixed(2) == "12.30")
        #expect(0.005.fixed(2) == "0.01")
        #expect((-1.234).fixed(2) == "-1.23")
        #expect((-0.001).fixed(1) == "0.0")
        #expect(4.5.fixed(0) == "5")
        #expect(1234.5678.fixed(3) == "1234.568")
        #expect(Duration.milliseconds(1500).inMilliseconds == 1500)
    }
}
