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

    @Test func systemErrorsNameTheErrnoAndSuggestAFix() {
        let error = Dom0Error.system("cannot write", at: "/etc/default/grub", .permissionDenied)
        #expect(error.why == "Permission denied (errno 13)")
        #expect(error.fix?.contains("--root") == true)
        #expect(error.status == .failed)
    }
}
