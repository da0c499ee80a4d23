internal import CSQLite
internal import Foundation

/// A mirror replaced under its reader.
///
/// A mirror is replaced by renaming a new snapshot over it (``StoreMirror``). On a local disk or
/// Lustre, a reader holding the old file open goes on reading it. On NFS, the old file is deleted
/// on the server when the writer's host renames over it, and the reader's host then fails every
/// read of its open descriptor with `ESTALE`, which SQLite reports as `SQLITE_IOERR_READ` (or a
/// short read). Such a failure on a mirror is therefore no error of the store: the question is
/// asked again, from its start, on the file now at the path (the new snapshot), a few times at
/// most, so every answer is one whole snapshot's. The same failure on any other store is an error.
extension DensityStore {
    /// How many times a question to a mirror is asked again after its snapshot was replaced under
    /// it: each replacement costs one, and the recorder replaces the mirror at most every
    /// `--mirror-every` seconds, so more than one in a row means the file is failing, not replaced.
    /// `DENSITY_TEST_MIRROR_RETRIES` overrides it, for the tests that show the failure this hides.
    static let replacedMirrorRetries: Int = {
        if let value = ProcessInfo.processInfo.environment["DENSITY_TEST_MIRROR_RETRIES"], let retries = Int(value), retries >= 0 {
            return retries
        }
        return 3
    }()

    /// Whether `error` is a read of the file under an open connection that failed: how a read of
    /// a file deleted on an NFS server (`ESTALE`) comes out of SQLite.
    static func isReadOfReplacedFile(_ error: any Error) -> Bool {
        guard let error = error as? SQLiteError else { return false }
        // SQLITE_IOERR_READ and SQLITE_IOERR_SHORT_READ: C macros Swift does not import.
        return error.code == SQLITE_IOERR | (1 << 8) || error.code == SQLITE_IOERR | (2 << 8)
    }

    /// Runs `body`, which opens the file at a path afresh and reads it; when that is a mirror and a
    /// read failed because it was replaced meanwhile (``isReadOfReplacedFile(_:)``), runs it again,
    /// up to ``replacedMirrorRetries`` times.
    /// - Parameters:
    ///   - isMirror: Whether the file is a mirror; for any other file, `body` runs once.
    ///   - body: The opening and its reads.
    static func askingAgainIfReplaced<T>(_ isMirror: Bool, _ body: () throws -> T) throws -> T {
        var retries = 0
        while true {
            do {
                return try body()
            } catch let error where isMirror && retries < replacedMirrorRetries && isReadOfReplacedFile(error) {
                retries += 1
            }
        }
    }

    /// The connection a question to this mirror is asked again on, after `error`: the mirror now
    /// at the path, opened as this handle was; or `nil` (the error stands) when the error is not
    /// a read of a replaced file, the retries are spent, or the path holds no mirror any more.
    func reopenReplacedMirror(after error: any Error, retries: Int) throws -> Connection? {
        guard retries < Self.replacedMirrorRetries, Self.isReadOfReplacedFile(error), StoreMirror.isMirror(path) else { return nil }
        return try Self.askingAgainIfReplaced(true) {
            try Self.connect(path, readOnly: true, isMirror: true, migrator: migrator, durable: true)
        }
    }
}
