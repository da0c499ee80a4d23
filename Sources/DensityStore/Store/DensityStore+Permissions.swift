#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - The permissions of SQLite's sidecar files

extension DensityStore {
    /// Gives the `-wal` and `-shm` files the store file's permission bits again when the store is
    /// writable but they are not.
    ///
    /// SQLite creates them with the store's mode at the time: a query run while the store was
    /// write-protected leaves read-only ones behind, and SQLite then keeps refusing writes after
    /// the store's own permissions were fixed. Only files this user owns are changed, and never to
    /// more than the store's own bits.
    static func alignSidecarPermissions(storePath path: String) {
        var store = stat()
        guard stat(path, &store) == 0, access(path, W_OK) == 0 else { return }
        for suffix in ["-wal", "-shm"] {
            let sidecar = path + suffix
            var status = stat()
            guard stat(sidecar, &status) == 0, status.st_uid == geteuid(), access(sidecar, W_OK) != 0 else { continue }
            _ = chmod(sidecar, mode_t(store.st_mode) & 0o666)
        }
    }
}
