import Foundation

/// Which file a path names: its device and inode. A store deleted and made again, or replaced by
/// `mv`, is another file at the same path; `density watch` compares these to notice it, since
/// an open connection keeps reading the file it opened.
struct StoreFileIdentity: Hashable {
    /// The device holding the file.
    var device: UInt64
    /// The file's inode on that device.
    var inode: UInt64

    /// The file at `path` now (following symbolic links), or `nil` when there is none.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
