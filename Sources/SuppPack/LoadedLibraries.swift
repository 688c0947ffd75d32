import Glibc
import Dom0Core

/// The libarchive functions pack reading uses.
struct Archive: Sendable {
    static let ok: Int32 = 0, eof: Int32 = 1, warn: Int32 = -20  // ARCHIVE_OK, ARCHIVE_EOF, ARCHIVE_WARN
    static let directory: mode_t = 0o040000  // AE_IFDIR

    /// libarchive, loaded on first use.
    static let shared = Result<Archive, Dom0Error> { () throws(Dom0Error) in try load() }

    let readNew: @convention(c) () -> OpaquePointer?
    let readFree: @convention(c) (OpaquePointer?) -> Int32
    let supportISO9660: @convention(c) (OpaquePointer?) -> Int32
    let supportRaw: @convention(c) (OpaquePointer?) -> Int32
    let supportGzip: @convention(c) (OpaquePointer?) -> Int32
    let openFilename: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int) -> Int32
    let openMemory: @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32
    let nextHeader: @convention(c) (OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    let readData: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int) -> Int
    let errorString: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let entryPathname: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let entrySize: @convention(c) (OpaquePointer?) -> Int64
    let entryFiletype: @convention(c) (OpaquePointer?) -> mode_t
    let entrySymlink: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?

    /// The library, loaded once.
    static func load() throws(Dom0Error) -> Archive {
        let library = try LoadedLibrary(["libarchive.so.13", "libarchive.so"], package: "libarchive (apt-get install libarchive13; yum install libarchive)")
        return Archive(
            readNew: try library.function("archive_read_new", as: (@convention(c) () -> OpaquePointer?).self),
            readFree: try library.function("archive_read_free", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            supportISO9660: try library.function("archive_read_support_format_iso9660", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            supportRaw: try library.function("archive_read_support_format_raw", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            supportGzip: try library.function("archive_read_support_filter_gzip", as: (@convention(c) (OpaquePointer?) -> Int32).self),
            openFilename: try library.function("archive_read_open_filename",
                                               as: (@convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int) -> Int32).self),
            openMemory: try library.function("archive_read_open_memory",
                                             as: (@convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32).self),
            nextHeader: try library.function("archive_read_next_header",
                                             as: (@convention(c) (OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32).self),
            readData: try library.function("archive_read_data", as: (@convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int) -> Int).self),
            errorString: try library.function("archive_error_string", as: (@convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?).self),
            entryPathname: try library.function("archive_entry_pathname", as: (@convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?).self),
            entrySize: try library.function("archive_entry_size", as: (@convention(c) (OpaquePointer?) -> Int64).self),
            entryFiletype: try library.function("archive_entry_filetype", as: (@convention(c) (OpaquePointer?) -> mode_t).self),
            entrySymlink: try library.function("archive_entry_symlink", as: (@convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?).self))
    }
}

/// The libcrypto functions checksums use.
struct Crypto: Sendable {
    static let maximumDigestSize = 64  // EVP_MAX_MD_SIZE

    /// libcrypto, loaded on first use.
    static let shared = Result<Crypto, Dom0Error> { () throws(Dom0Error) in try load() }

    let algorithms: [String: @convention(c) () -> OpaquePointer?]
    let contextNew: @convention(c) () -> OpaquePointer?
    let contextFree: @convention(c) (OpaquePointer?) -> Void
    let digestInit: @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?) -> Int32
    let digestUpdate: @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32
    let digestFinal: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt32>?) -> Int32

    /// The library, loaded once.
    static func load() throws(Dom0Error) -> Crypto {
        let library = try LoadedLibrary(["libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so.10", "libcrypto.so"],
                                    package: "OpenSSL's libcrypto (apt-get install libssl3; yum install openssl-libs)")
        var algorithms: [String: @convention(c) () -> OpaquePointer?] = [:]
        for (name, symbol) in [("md5", "EVP_md5"), ("sha1", "EVP_sha1"), ("sha256", "EVP_sha256"), ("sha512", "EVP_sha512")] {
            algorithms[name] = try library.function(symbol, as: (@convention(c) () -> OpaquePointer?).self)
        }
        return Crypto(
            algorithms: algorithms,
            // OpenSSL 1.0 (CentOS 7's libcrypto.so.10) names them create and destroy.
            contextNew: try library.function("EVP_MD_CTX_new", "EVP_MD_CTX_create", as: (@convention(c) () -> OpaquePointer?).self),
            contextFree: try library.function("EVP_MD_CTX_free", "EVP_MD_CTX_destroy", as: (@convention(c) (OpaquePointer?) -> Void).self),
            digestInit: try library.function("EVP_DigestInit_ex",
                                             as: (@convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?) -> Int32).self),
            digestUpdate: try library.function("EVP_DigestUpdate", as: (@convention(c) (OpaquePointer?, UnsafeRawPointer?, Int) -> Int32).self),
            digestFinal: try library.function("EVP_DigestFinal_ex",
                                              as: (@convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt32>?) -> Int32).self))
    }
}
