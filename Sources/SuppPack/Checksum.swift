import Crypto
import Dom0Core

/// Streaming checksums of pack payloads (md5 for legacy packs, sha* for yum repositories).
struct Checksum {
    private var md5: Insecure.MD5?
    private var sha1: Insecure.SHA1?
    private var sha256: SHA256?
    private var sha512: SHA512?

    init(_ type: String) throws(Dom0Error) {
        switch type.lowercased() {
        case "md5": md5 = Insecure.MD5()
        case "sha", "sha1": sha1 = Insecure.SHA1()
        case "sha256": sha256 = SHA256()
        case "sha512": sha512 = SHA512()
        default: throw Dom0Error(.refused, "unknown checksum type '\(type)'", fix: "packs use md5, sha1, sha256 or sha512")
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        md5?.update(bufferPointer: bytes)
        sha1?.update(bufferPointer: bytes)
        sha256?.update(bufferPointer: bytes)
        sha512?.update(bufferPointer: bytes)
    }

    /// The lower-case hex digest.
    func finalize() -> String {
        let digest: [UInt8] = if let md5 { Array(md5.finalize()) } else if let sha1 { Array(sha1.finalize()) }
            else if let sha256 { Array(sha256.finalize()) } else if let sha512 { Array(sha512.finalize()) } else { [] }
        return digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Checks whole bytes against an expected digest.
    static func verify(_ bytes: [UInt8], type: String, expected: String, what: String) throws(Dom0Error) {
        var checksum = try Checksum(type)
        bytes.withUnsafeBytes { checksum.update($0) }
        let actual = checksum.finalize()
        guard actual == expected.lowercased() else {
            throw Dom0Error(.failed, "\(type) mismatch", at: what, why: "expected \(expected), found \(actual)",
                            fix: "the pack is damaged; get it again")
        }
    }
}
