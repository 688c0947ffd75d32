import Dom0Core

/// Streaming checksums of pack payloads (md5 for legacy packs, sha* for yum repositories),
/// computed by libcrypto.
final class Checksum {
    private let crypto: Crypto
    private let context: OpaquePointer

    init(_ type: String) throws(Dom0Error) {
        crypto = try Crypto.shared.get()
        let name = type.lowercased() == "sha" ? "sha1" : type.lowercased()
        guard let algorithm = crypto.algorithms[name] else {
            throw Dom0Error(.refused, "unknown checksum type '\(type)'", fix: "packs use md5, sha1, sha256 or sha512")
        }
        guard let context = crypto.contextNew(), crypto.digestInit(context, algorithm(), nil) == 1 else {
            throw Dom0Error("cannot start a \(type) digest in libcrypto")
        }
        self.context = context
    }

    deinit { crypto.contextFree(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        _ = crypto.digestUpdate(context, bytes.baseAddress, bytes.count)
    }

    /// The lower-case hex digest.
    func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: Crypto.maximumDigestSize)
        var length: UInt32 = 0
        _ = crypto.digestFinal(context, &digest, &length)
        return digest.prefix(Int(length)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Checks whole bytes against an expected digest.
    static func verify(_ bytes: [UInt8], type: String, expected: String, what: String) throws(Dom0Error) {
        let checksum = try Checksum(type)
        bytes.withUnsafeBytes { checksum.update($0) }
        let actual = checksum.finalize()
        guard actual == expected.lowercased() else {
            throw Dom0Error(.failed, "\(type) mismatch", at: what, why: "expected \(expected), found \(actual)",
                            fix: "the pack is damaged; get it again")
        }
    }
}
