import Glibc
import Logging

/// A C library opened when it is first needed rather than linked: every Dom0Kit tool is the same
/// binary, and loading libarchive (with libxml2 and ICU), libcrypto or libyaml at every start
/// would cost xen-cmdline a millisecond and megabytes for nothing. Functions come from dlsym,
/// typed as their C declarations say.
public struct LoadedLibrary: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer

    private static let logger = Logger(label: "dom0kit.library")

    /// Opens the first of `names` that loads — the sonames the supported distributions ship, newest
    /// first — and says which it found (`-v`). `package` names what provides it on Debian and on
    /// RHEL-family hosts, for the error.
    public init(_ names: [String], package: String) throws(Dom0Error) {
        var reasons: [String] = []
        for name in names {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
                self.handle = handle
                Self.logger.info("loaded \(name)", metadata: ["library": "\(name)", "tried": "\(names.prefix { $0 != name })"])
                return
            }
            reasons.append(dlerror().map { String(cString: $0) } ?? "\(name): not found")
        }
        throw Dom0Error("cannot load \(names[0])", why: "tried " + names.joined(separator: ", ") + ": " + reasons.joined(separator: "; "),
                        fix: "install \(package)")
    }

    /// A function of the library, as the C declaration's type says; given several names (one
    /// function renamed between versions), the first the library has.
    public func function<T>(_ names: String..., as type: T.Type) throws(Dom0Error) -> T {
        for name in names {
            if let symbol = dlsym(handle, name) { return unsafeBitCast(symbol, to: type) }
        }
        throw Dom0Error("\(names.joined(separator: " or ")) is missing from its library")
    }
}
