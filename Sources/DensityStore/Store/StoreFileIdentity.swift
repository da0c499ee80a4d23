import Foundation

/// Which file a path names: its device and inode. A store deleted and made again, or replaced by
/// `mv` (a mirror's snapshot, a copy), is another file at the same path, while an open connection
/// keeps reading the file it opened; `density watch` and the server compare these to notice it.
public struct StoreFileIdentity: Sendable, Hashable {
    /// The device holding the file.
    public let device: UInt64
    /// The file's inode on that device.
    public let inode: UInt64

    /// The file at `path` now (following symbolic links), or `nil` when there is none.
    /// - Parameter path: The file's path.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
