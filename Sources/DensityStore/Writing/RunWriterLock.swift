#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The writer locks of one store handle: exclusive, advisory locks on writing runs (or ranks of
/// distributed runs), held until the value is released or the process ends, however it ends.
///
/// Each lock is a write lock on a byte range of a sidecar file, `<store>.lock`. Each run has
/// ``slotsPerRun`` slots of 8 bytes from byte `runID * slotsPerRun * 8`: slot 0 for a writer of the
/// whole run, slot `1 + r` for the writer of rank `r` of a distributed run. The whole-run lock
/// covers every slot of the run, so it excludes rank writers too; rank locks exclude only a second
/// writer of the same rank. Each holder writes its process id (little-endian) into its slot so a
/// refused writer can name it. On Linux they are open-file-description locks (`F_OFD_SETLK`) on
/// one descriptor: the locks of one value never conflict with each other, those of two values do,
/// even in one process, and closing some other descriptor of the file never drops them; elsewhere
/// classic `F_SETLK` record locks (per process). The kernel drops them when the holding process
/// dies, even by `SIGKILL`, so no stale lock is ever left behind.
///
/// The lock file is created with the store file's permission bits (`0644` when the store does not
/// exist yet), filtered by the umask, as SQLite does for its `-wal` and `-shm` files.
///
/// ``DensityStore`` takes these for you (see ``DensityStore/lockRunForWriting(_:)``); use this type
/// directly only to hold a run outside a store handle.
///
/// It is `Sendable` without `@unchecked`: its only state is an immutable descriptor, and `fcntl`
/// and `pwrite` on it are safe from any thread.
public final class RunWriterLock: Sendable {
    /// The lock file's path.
    public let lockPath: String
    private let descriptor: Int32

    /// Slots per run: one for the whole run, then one per rank (``DensityStore/maxWorldSize``).
    public static let slotsPerRun: Int64 = 1 + Int64(DensityStore.maxWorldSize)

    /// The sidecar lock file of a store.
    /// - Parameter storePath: The store's path.
    /// - Returns: `storePath + ".lock"`.
    public static func lockPath(forStore storePath: String) -> String { storePath + ".lock" }

    /// Opens (creating) the lock file of a store; no lock is taken yet.
    /// - Parameter storePath: The store's path.
    /// - Throws: ``WriterLockError/unavailable(path:reason:)`` when the lock file cannot be created.
    public init(storePath: String) throws {
        let path = Self.lockPath(forStore: storePath)
        var status = stat()
        let mode = stat(storePath, &status) == 0 ? mode_t(status.st_mode) & 0o666 : 0o644
        var descriptor: Int32
        repeat {
            descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else {
            throw WriterLockError.unavailable(path: path, reason: Self.lastError())
        }
        self.lockPath = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Takes the writer lock of a run, or of one rank of it, without waiting. Taking a lock this
    /// value holds already, or a rank's lock inside a run it holds whole, changes nothing; taking a
    /// whole run whose ranks it holds extends them to the whole run.
    /// - Parameters:
    ///   - runID: The run's `runs.id`.
    ///   - runName: The run's name, for messages.
    ///   - rank: A rank (`0..<DensityStore.maxWorldSize`) to lock only that rank's writer; `nil`
    ///     (the default) for the whole run.
    /// - Throws: ``WriterLockError/heldByAnotherWriter(run:pid:)`` when another process (or another
    ///   store handle) holds it; ``WriterLockError/unavailable(path:reason:)`` when it cannot be locked.
    public func lock(runID: Int64, runName: String, rank: Int? = nil) throws {
        precondition(rank.map { (0..<DensityStore.maxWorldSize).contains($0) } ?? true, "rank out of range")
        let base = off_t(runID) * off_t(Self.slotsPerRun) * 8
        let slot = base + off_t(rank.map { $0 + 1 } ?? 0) * 8
        var lock = Self.range(start: slot, length: rank == nil ? off_t(Self.slotsPerRun) * 8 : 8, type: Int16(F_WRLCK))
        if fcntl(descriptor, Self.setLock, &lock) != 0 {
            let code = errno
            guard code == EAGAIN || code == EACCES else {
                throw WriterLockError.unavailable(path: lockPath, reason: String(cString: strerror(code)))
            }
            throw WriterLockError.heldByAnotherWriter(run: runName, pid: Self.holder(descriptor, asking: lock))
        }
        var pid = Int64(getpid()).littleEndian
        _ = withUnsafeBytes(of: &pid) { pwrite(descriptor, $0.baseAddress, 8, slot) }
    }

    // MARK: - Internals

    #if os(Linux)
    /// `F_OFD_SETLK` and `F_OFD_GETLK` (Linux 3.15+), not exported by the Glibc module: 37 and 36
    /// on every Linux architecture.
    private static let setLock: Int32 = 37
    private static let getLock: Int32 = 36
    #else
    private static let setLock: Int32 = F_SETLK
    private static let getLock: Int32 = F_GETLK
    #endif

    private static func range(start: off_t, length: off_t, type: Int16) -> flock {
        var lock = flock()
        lock.l_type = type
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = start
        lock.l_len = length
        lock.l_pid = 0  // required for OFD locks
        return lock
    }

    /// The process id a conflicting holder wrote into the first slot of its lock; `nil` when none
    /// is there yet (or the holder is gone already).
    private static func holder(_ descriptor: Int32, asking request: flock) -> Int32? {
        var conflict = request
        conflict.l_pid = 0
        guard fcntl(descriptor, getLock, &conflict) == 0, conflict.l_type != Int16(F_UNLCK) else { return nil }
        if conflict.l_pid > 0 { return conflict.l_pid }  // a classic record lock names its process
        var pid: Int64 = 0
        let read = withUnsafeMutableBytes(of: &pid) { pread(descriptor, $0.baseAddress, 8, conflict.l_start) }
        let value = Int64(littleEndian: pid)
        guard read == 8, value > 0, value <= Int64(Int32.max) else { return nil }
        return Int32(value)
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
