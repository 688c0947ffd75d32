import Dom0Core
import SystemPackage

/// The files of a pack, from an ISO (read in place with libarchive: no mount, no loop device,
/// no root needed) or a directory (a mounted CD). Paths are relative ("packages/XS-REPOSITORY").
///
/// Opening checks every name: absolute paths, `..` and symlinks that leave the pack are refused.
public struct PackSource: Sendable {
    /// A file in the pack.
    public struct Entry: Sendable {
        public var size: UInt64
        public var isDirectory: Bool
        /// A symbolic link's target, resolved to a path in the pack.
        public var linkTarget: String?
    }

    /// The pack on the machine (a real path).
    public let location: FilePath
    /// Whether it is an ISO image (else a directory).
    public let isImage: Bool
    /// Every file and directory, by relative path.
    public private(set) var entries: [String: Entry] = [:]

    /// Opens and lists a pack.
    public static func open(_ location: FilePath) throws(Dom0Error) -> PackSource {
        guard let info = try FileSystem.status(location, followSymlinks: true) else {
            throw Dom0Error(.usage, "no such pack", at: location.string, fix: "name an ISO file or a directory")
        }
        var source = PackSource(location: location, isImage: !info.isDirectory)
        if source.isImage {
            let library = try Archive.shared.get()
            try source.withArchive { archive, entry throws(Dom0Error) in
                try source.add(library.entryPathname(entry).map { String(cString: $0) } ?? "",
                               size: UInt64(max(0, library.entrySize(entry))),
                               isDirectory: library.entryFiletype(entry) & 0o170000 == Archive.directory,
                               link: library.entrySymlink(entry).map { String(cString: $0) })
                return false
            }
        } else {
            try source.walk("")
        }
        return source
    }

    private init(location: FilePath, isImage: Bool) {
        self.location = location
        self.isImage = isImage
    }

    private mutating func add(_ raw: String, size: UInt64, isDirectory: Bool, link: String?) throws(Dom0Error) {
        let path = try Self.clean(raw, in: location)
        var target: String?
        if let link {
            // A link's target must stay inside the pack.
            let base = path.split(separator: "/").dropLast().joined(separator: "/")
            target = try Self.clean(link.hasPrefix("/") ? link : (base.isEmpty ? link : base + "/" + link), in: location, link: raw)
        }
        if !path.isEmpty { entries[path] = Entry(size: size, isDirectory: isDirectory, linkTarget: target) }
    }

    /// A relative path without `.`; refuses absolute paths and `..` that climbs out.
    static func clean(_ raw: String, in location: FilePath, link: String? = nil) throws(Dom0Error) -> String {
        var parts: [Substring] = []
        for part in raw.split(separator: "/") where part != "." {
            if part == ".." {
                guard !parts.isEmpty else { throw hostile(raw, in: location, link: link) }
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        if raw.hasPrefix("/") && link == nil { throw hostile(raw, in: location, link: link) }
        return parts.joined(separator: "/")
    }

    private static func hostile(_ raw: String, in location: FilePath, link: String?) -> Dom0Error {
        Dom0Error(.refused, link == nil ? "refusing a pack with a path leading out of it" : "refusing a pack with a link leading out of it",
                  at: location.string, why: link.map { "\($0) -> \(raw)" } ?? raw, fix: "the pack is damaged or hostile; get it again")
    }

    private mutating func walk(_ relative: String) throws(Dom0Error) {
        let directory = relative.isEmpty ? location : location.appending(relative)
        for name in try FileSystem.entries(directory) {
            let path = relative.isEmpty ? name : relative + "/" + name
            let real = location.appending(path)
            guard let info = try FileSystem.status(real) else { continue }
            let link = info.isSymlink ? try FileSystem.readLink(real).string : nil
            try add(path, size: UInt64(info.st_size), isDirectory: info.isDirectory, link: link)
            if info.isDirectory { try walk(path) }
        }
    }

    /// The content of a small file (metadata), at most `limit` bytes.
    public func read(_ path: String, limit: Int = PackXML.maximumBytes) throws(Dom0Error) -> [UInt8]? {
        let resolved = entries[path]?.linkTarget ?? path
        guard let entry = entries[resolved], !entry.isDirectory else { return nil }
        guard entry.size <= UInt64(limit) else {
            throw Dom0Error(.refused, "pack metadata too large", at: "\(location)/\(path)", why: "\(entry.size) bytes; at most \(limit)")
        }
        var content: [UInt8] = []
        try stream([resolved]) { _, chunk throws(Dom0Error) in content.append(contentsOf: chunk) }
        return content
    }

    /// Streams the named files, in the pack's own order, chunk by chunk.
    public func stream(_ paths: Set<String>, _ body: (String, UnsafeRawBufferPointer) throws(Dom0Error) -> Void) throws(Dom0Error) {
        var remaining = paths
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        if isImage {
            let library = try Archive.shared.get()
            try withArchive { archive, entry throws(Dom0Error) in
                let path = try Self.clean(library.entryPathname(entry).map { String(cString: $0) } ?? "", in: location)
                guard remaining.remove(path) != nil else { return false }
                while true {
                    let count = library.readData(archive, buffer.baseAddress, buffer.count)
                    if count < 0 { throw archiveError(archive, "cannot read \(path) from") }
                    if count == 0 { break }
                    try body(path, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
                return remaining.isEmpty
            }
        } else {
            for path in paths.sorted() {
                remaining.remove(path)
                let fd: FileDescriptor
                do { fd = try FileDescriptor.open(location.appending(path), .readOnly) } catch {
                    throw Dom0Error("cannot open", at: location.appending(path).string, why: "\(error)")
                }
                defer { try? fd.close() }
                while true {
                    let count: Int
                    do { count = try fd.read(into: buffer) } catch {
                        throw Dom0Error("cannot read", at: location.appending(path).string, why: "\(error)")
                    }
                    if count == 0 { break }
                    try body(path, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
            }
        }
        if let missing = remaining.sorted().first {
            throw Dom0Error(.refused, "the pack lacks \(missing)", at: location.string, fix: "the pack is incomplete; get it again")
        }
    }

    /// Runs `body` for each header of the ISO until it returns true.
    private func withArchive(_ body: (OpaquePointer, OpaquePointer) throws(Dom0Error) -> Bool) throws(Dom0Error) {
        let library = try Archive.shared.get()
        guard let archive = library.readNew() else { throw Dom0Error("cannot start libarchive") }
        defer { _ = library.readFree(archive) }
        _ = library.supportISO9660(archive)
        guard library.openFilename(archive, location.string, 1 << 16) == Archive.ok else {
            throw archiveError(archive, "cannot open the pack")
        }
        var entry: OpaquePointer?
        while true {
            let status = library.nextHeader(archive, &entry)
            if status == Archive.eof { return }
            guard status == Archive.ok || status == Archive.warn, let entry else { throw archiveError(archive, "cannot read the pack") }
            if try body(archive, entry) { return }
        }
    }

    private func archiveError(_ archive: OpaquePointer, _ what: String) -> Dom0Error {
        let reason = (try? Archive.shared.get())?.errorString(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return Dom0Error(.failed, what, at: location.string, why: reason, fix: "the ISO is damaged or truncated; get it again")
    }
}
