internal import CFileSystem
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Finds out whether a store's folder is on a network or cluster file system, where a store must
/// not be written: SQLite's WAL journal keeps its index in shared memory (the `-shm` file, mapped
/// by every process), which is not shared between hosts, so a reader on another node can see torn
/// or stale state; and the writer lock (an OFD lock on `<store>.lock`) may not be honoured there.
///
/// Linux reports the file system's type as `statfs`'s `f_type` magic number; macOS as its name.
/// File systems reached through FUSE (sshfs, GlusterFS's client) report FUSE's number, which local
/// file systems share, and are not detected.
///
/// Related SQLite documentation: <https://www.sqlite.org/wal.html> (WAL "does not work over a
/// network filesystem").
enum NetworkFileSystem {
    /// Linux `f_type` magic numbers of network and cluster file systems, with their names.
    static let magicNumbers: [Int: String] = [
        0x6969: "NFS", 0x517B: "SMB", 0xFF53_4D42: "CIFS", 0xFE53_4D42: "SMB2", 0x0BD0_0BD0: "Lustre",
        0x4750_4653: "GPFS", 0x00C3_6400: "CephFS", 0x1983_0326: "BeeGFS", 0x5346_414F: "AFS", 0x6B41_4653: "AFS",
        0x0102_1997: "9P", 0x7461_636F: "OCFS2", 0x0116_1970: "GFS2", 0xAAD7_AAEA: "PanFS", 0x7375_7245: "Coda",
        0x564C: "NCP", 0x2003_0528: "OrangeFS",
    ]

    /// macOS file-system type names of network file systems.
    static let darwinNames: [String: String] = ["nfs": "NFS", "smbfs": "SMB", "afpfs": "AFP", "webdav": "WebDAV", "cifs": "CIFS"]

    /// The network file system holding `path` (the file when it exists, else its folder), or `nil`
    /// for a local one or when it cannot be told.
    /// - Parameter path: A store's path.
    /// - Returns: The file system's name, such as "NFS" or "Lustre".
    static func name(holding path: String) -> String? {
        var info = statfs()
        var target = path
        if access(path, F_OK) != 0 {
            let slash = path.lastIndex(of: "/")
            target = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        }
        guard statfs(target, &info) == 0 else { return nil }
        #if canImport(Darwin)
        let type = withUnsafeBytes(of: info.f_fstypename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return darwinNames[type]
        #else
        return magicNumbers[Int(info.f_type)]
        #endif
    }
}
