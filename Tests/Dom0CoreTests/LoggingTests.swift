import Glibc
@testable import Dom0Core
import Logging
import SystemPackage
import Testing
import TestSupport

@Suite("Logging to the journal and to stderr", .serialized)
struct LoggingTests {
    @Test(arguments: [
        ("MESSAGE_ID", "MESSAGE_ID"), ("bdf", "DOM0KIT_BDF"), ("argv", "DOM0KIT_ARGV"),
        ("device.driver", "DOM0KIT_DEVICE_DRIVER"), ("Exit-Status", "DOM0KIT_EXIT_STATUS"), ("_PID", "DOM0KIT__PID"),
    ])
    func metadataKeysBecomeJournalFields(key: String, field: String) {
        #expect(JournalLogHandler.fieldName(key) == field)
    }

    @Test func anEntryCarriesMessagePriorityIdentifierAndMetadata() {
        let event = LogEvent(level: .warning, message: "bound 0000:01:00.0", metadata: ["bdf": "0000:01:00.0"],
                             source: "test", file: "Binder.swift", function: "bind()", line: 42)
        let fields = JournalLogHandler.fields(event: event, tool: "pciback-agent", label: "dom0kit.binder",
                                              metadata: ["MESSAGE_ID": "5e1c7c1e5e1c4c1e9e1c7c1e5e1c4c1e"])
        #expect(fields.contains("MESSAGE=bound 0000:01:00.0"))
        #expect(fields.contains("PRIORITY=4"))
        #expect(fields.contains("SYSLOG_IDENTIFIER=pciback-agent"))
        #expect(fields.contains("DOM0KIT_BDF=0000:01:00.0"))
        #expect(fields.contains("MESSAGE_ID=5e1c7c1e5e1c4c1e9e1c7c1e5e1c4c1e"))
        #expect(fields.contains("CODE_LINE=42"))
    }

    /// A failed apply step is logged as an error whose message is a Dom0Error's two lines: at a
    /// terminal the text is the message alone (its fields glued to it read as part of the error,
    /// found by the second hardening round), the fix stays the last line, whole; with -v the
    /// fields come on a line of their own; the journal's MESSAGE_ID is never shown.
    @Test func aTerminalLineIsTheMessageWithFieldsApartOnlyWhenVerbose() {
        let event = LogEvent(level: .error, message: "step 1 of 2 failed: packs: md5 mismatch: /p/x.rpm\n  fix: get it again",
                             metadata: ["MESSAGE_ID": "4c737a6330c14b26b2389e7e1fa77312", "step": "1"],
                             source: "test", file: "HostApply.swift", function: "apply()", line: 7)
        #expect(StderrLogHandler.text(event: event, tool: "host-prepare", metadata: ["module": "packs"], fields: false)
                == "host-prepare: error: step 1 of 2 failed: packs: md5 mismatch: /p/x.rpm\n  fix: get it again\n")
        #expect(StderrLogHandler.text(event: event, tool: "host-prepare", metadata: ["module": "packs"], fields: true)
                == "host-prepare: error: step 1 of 2 failed: packs: md5 mismatch: /p/x.rpm\n  module=packs step=1\n  fix: get it again\n")
    }

    @Test func journalStreamCountsOnlyWhenItNamesTheDescriptor() throws {
        let directory = try TemporaryDirectory()
        let path = directory.appending("stream")
        let fd = try FileDescriptor.open(path, .writeOnly, options: [.create], permissions: .ownerReadWrite)
        defer { try? fd.close() }
        var info = stat()
        #expect(fstat(fd.rawValue, &info) == 0)
        #expect(JournalStream.isStandardError(environment: "\(info.st_dev):\(info.st_ino)", descriptor: fd.rawValue))
        #expect(!JournalStream.isStandardError(environment: "\(info.st_dev):\(info.st_ino + 1)", descriptor: fd.rawValue))
        #expect(!JournalStream.isStandardError(environment: nil, descriptor: fd.rawValue))
        #expect(!JournalStream.isStandardError(environment: "garbage", descriptor: fd.rawValue))
    }

    /// libsystemd's sd_journal_sendv, for real, into a socket standing where journald's would.
    @Test func entriesReachTheJournalSocketThroughLibsystemd() throws {
        let socketPath = FilePath("/run/systemd/journal/socket")
        let journaldRuns = try FileSystem.status(socketPath) != nil
        if journaldRuns {
            // A live journald owns the socket: it is the real receiver, so sending must succeed.
            #expect(JournalLogHandler.send(["MESSAGE=dom0kit test", "PRIORITY=7"]) == 0)
            return
        }
        try FileSystem.createDirectories(socketPath.removingLastComponent())
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(receiver >= 0)
        defer {
            close(receiver)
            try? FileSystem.remove(socketPath)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socketPath.string.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0, "cannot bind \(socketPath): errno \(errno); the test needs root, as CI has")

        #expect(JournalLogHandler.send(["MESSAGE=hello journal", "PRIORITY=6", "DOM0KIT_BDF=0000:04:00.0"]) == 0)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(receiver, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(count > 0)
        let datagram = String(decoding: buffer[0..<max(count, 0)], as: UTF8.self)
        // The native protocol: one KEY=value line per field (libsystemd adds SYSLOG_IDENTIFIER if missing).
        #expect(datagram.hasPrefix("MESSAGE=hello journal\nPRIORITY=6\nDOM0KIT_BDF=0000:04:00.0\n"))
    }
}
