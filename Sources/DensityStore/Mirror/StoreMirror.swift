public import Foundation
internal import CSQLite
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A store's mirror in a folder (often a shared one, on NFS or Lustre): a whole, consistent snapshot
/// of the store, replaced now and then, that readers on other hosts can open at any time.
///
/// Each snapshot is copied with SQLite's online backup API (one read transaction of the source, so
/// its writer goes on committing) into a temporary file in the folder, switched to rollback-journal
/// mode (a network file system has no shared memory for WAL), marked as a mirror (its
/// `application_id` and a `density_mirror` table naming the source and the snapshot's time), synced,
/// and renamed over the previous mirror. A reader therefore opens either the old file or the new
/// one, never half of one; and since a mirror is never written in place, readers open it immutable
/// (no locks; ``DensityStore`` does so by itself), so they never wait on the writer nor it on them.
/// A writer killed mid-snapshot leaves the previous mirror as it was (and a hidden temporary file,
/// removed by the next snapshot from this host).
public struct StoreMirror: Sendable {
    /// The `application_id` a mirror carries in its header ("DnMr"), how a mirror is told without
    /// opening it.
    public static let applicationID: Int32 = 0x446E_4D72

    /// The mirrored store's path.
    public let source: String
    /// The mirror's path: the folder joined with the store's file name.
    public let path: String
    /// How the source names itself in the mirror: `host:/absolute/path`.
    public let sourceName: String

    /// Prepares to mirror a store into a folder, and checks that the mirror's place is free or
    /// holds this store's mirror.
    /// - Parameters:
    ///   - source: The store to mirror.
    ///   - folder: The folder to write `folder/<store's file name>` into.
    /// - Throws: ``MirrorError/noFolder(path:)``, ``MirrorError/notAMirror(path:)`` or
    ///   ``MirrorError/mirrorOfAnotherStore(path:source:wanted:)``.
    public init(source: String, folder: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MirrorError.noFolder(path: folder)
        }
        let absolute = URL(fileURLWithPath: source).standardizedFileURL.path
        self.source = source
        self.path = URL(fileURLWithPath: folder).appendingPathComponent(URL(fileURLWithPath: source).lastPathComponent).path
        self.sourceName = Self.hostName() + ":" + absolute
        if FileManager.default.fileExists(atPath: path) {
            guard Self.isMirror(path), let origin = try? Self.origin(at: path) else { throw MirrorError.notAMirror(path: path) }
            guard origin.source == sourceName else {
                throw MirrorError.mirrorOfAnotherStore(path: path, source: origin.source, wanted: sourceName)
            }
        }
    }

    // MARK: - Writing

    /// Writes one snapshot of the store, replacing the previous mirror in one rename.
    /// - Parameter connection: A read connection to the source to copy through (its own, so the
    ///   writer's connection is never held), or `nil` to open one for this snapshot.
    /// - Returns: The snapshot's origin.
    /// - Throws: ``MirrorError/snapshotFailed(path:reason:)``; the previous mirror is unchanged.
    @discardableResult
    public func write() throws -> MirrorOrigin {
        try write(from: nil)
    }

    /// ``write()`` through a given read connection to the source.
    func write(from connection: Connection?) throws -> MirrorOrigin {
        removeStaleTemporaries()
        let temporary = temporaryPrefix + "\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        do {
            let source = try connection ?? Connection(path: self.source, mode: .readOnly)
            // Kept to the millisecond, so the time read back from the mirror is this one exactly.
            let now = (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000
            let origin = MirrorOrigin(source: sourceName, snapshotAt: Date(timeIntervalSince1970: now))
            do {
                let copy = try Connection(path: temporary, mode: .readWriteCreate)
                // No -shm file for the moment the copy's header still says WAL (it is the source's).
                try copy.execute("PRAGMA locking_mode = EXCLUSIVE")
                // Unsynced while it is built: the finished file is synced once, before the rename.
                try copy.execute("PRAGMA synchronous = OFF")
                try copy.copy(from: source)
                let mode = try copy.queryFirst("PRAGMA journal_mode = DELETE") { $0.string(0) }
                guard mode?.lowercased() == "delete" else {
                    throw SQLiteError(code: SQLITE_ERROR, message: "cannot switch the copy to a rollback journal (got \(mode ?? "nothing"))")
                }
                try copy.inTransaction {
                    try copy.execute("PRAGMA application_id = \(Self.applicationID)")
                    try copy.execute("CREATE TABLE density_mirror (source TEXT NOT NULL, snapshot_at REAL NOT NULL) STRICT")
                    try copy.execute("INSERT INTO density_mirror (source, snapshot_at) VALUES (?, ?)",
                                     [.text(origin.source), .real(now)])
                }
            }  // closed here: the journal is gone and every page is in the file
            try Self.sync(temporary)
            guard rename(temporary, path) == 0 else { throw SQLiteError(code: SQLITE_IOERR, message: Self.lastError("rename")) }
            try Self.sync(URL(fileURLWithPath: path).deletingLastPathComponent().path)
            return origin
        } catch {
            for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temporary + suffix) }
            let reason = (error as? SQLiteError).map { "\($0.message)" } ?? "\(error)"
            throw MirrorError.snapshotFailed(path: path, reason: reason)
        }
    }

    /// The hidden temporary files of this mirror written from this host: `.<name>.<host>.<pid>.<n>.tmp`.
    private var temporaryPrefix: String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(Self.hostName()).").path
    }

    /// Removes temporary files left by writers on this host that died mid-snapshot (their process is gone).
    private func removeStaleTemporaries() {
        let prefix = URL(fileURLWithPath: temporaryPrefix).lastPathComponent
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(prefix) {
            let parts = name.dropFirst(prefix.count).split(separator: ".")
            guard let pid = parts.first.flatMap({ Int32($0) }), kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(folder + "/" + name)
        }
    }

    /// Flushes a file or folder to stable storage.
    private static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SQLiteError(code: SQLITE_IOERR, message: lastError("open '\(path)'")) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw SQLiteError(code: SQLITE_IOERR, message: lastError("fsync '\(path)'")) }
    }

    private static func lastError(_ what: String) -> String { "\(what): \(String(cString: strerror(errno)))" }

    /// This host's name, as the mirror records it.
    static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Reading

    /// Whether the file at `path` is a store mirror, told from its header (its `application_id`),
    /// read through SQLite opened immutable: no lock is taken, and SQLite keeps its file open while
    /// another connection of this process holds locks on the same file. (Reading the header through
    /// a descriptor of our own would not: closing it drops every POSIX lock this process holds on
    /// the file, those of the process's open connections included, so a reader's snapshot could be
    /// checkpointed and vacuumed under it.)
    /// A read failing because the file was replaced meanwhile (on NFS) is tried again on the new file.
    /// - Parameter path: A file.
    /// - Returns: `true` for a mirror; `false` for anything else, or a file that cannot be read.
    public static func isMirror(_ path: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path),
              let id = try? DensityStore.askingAgainIfReplaced(true, {
                  try Connection(path: path, mode: .immutable).queryFirst("PRAGMA application_id") { $0.int64(0) }
              })
        else { return false }
        return id == Int64(applicationID)
    }

    /// The origin a mirror records, read from the file opened immutable.
    /// - Parameter path: A mirror.
    /// - Returns: The origin, or `nil` when the file is not a mirror.
    /// - Throws: ``SQLiteError`` when the file cannot be read.
    public static func origin(at path: String) throws -> MirrorOrigin? {
        guard isMirror(path) else { return nil }
        return try origin(of: Connection(path: path, mode: .immutable))
    }

    /// The origin recorded in a mirror open on `connection`, or `nil` when it is no mirror.
    static func origin(of connection: Connection) throws -> MirrorOrigin? {
        let hasTable = try connection.queryFirst(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'density_mirror'") { _ in true } ?? false
        guard hasTable else { return nil }
        return try connection.queryFirst("SELECT source, snapshot_at FROM density_mirror LIMIT 1") {
            MirrorOrigin(source: $0.string(0), snapshotAt: Date(timeIntervalSince1970: $0.double(1)))
        }
    }
}
