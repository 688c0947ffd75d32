import Glibc

/// A C library opened when it is first needed rather than linked: every Dom0Kit tool is the same
/// binary, and loading libarchive (with libxml2 and ICU), libcrypto or libyaml at every start
/// would cost xen-cmdline a millisecond and megabytes for nothing. Functions come from dlsym,
/// typed as their C declarations say.
public struct LoadedLibrary: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer

    /// Opens the first of `names` that loads.
    public init(_ names: [String], package: String) throws(Dom0Error) {
        for name in names {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
                self.handle = handle
                return
            }
        }
        throw Dom0Error("cannot load \(names[0])", why: dlerror().map { String(cString: $0) } ?? "not found",
                        fix: "install it with: apt-get install \(package)")
    }

    /// A function of the library, as the C declaration's type says.
    public func function<T>(_ name: String, as type: T.Type) throws(Dom0Error) -> T {
        guard let symbol = dlsym(handle, name) else { throw Dom0Error("\(name) is missing from its library") }
        return unsafeBitCast(symbol, to: type)
    }
}
