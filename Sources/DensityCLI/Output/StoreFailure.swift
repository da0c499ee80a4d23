import DensityStore

/// Turns SQLite's failures into messages that say what happened and what to do, keeping SQLite's
/// own text at the end for the record. Every write is one transaction, so each says that nothing
/// of the failed command was stored and the checkpoints already stored are intact.
enum StoreFailure {
    /// The error to print: a clearer ``CLIError`` for an ``SQLiteError`` with a known cause, else
    /// `error` itself.
    static func explain(_ error: any Error) -> any Error {
        guard let error = error as? SQLiteError else { return error }
        let intact = "nothing of this command was stored, and the checkpoints already stored are intact"
        let advice: String
        switch error.primaryCode {
        case 13:  // SQLITE_FULL
            advice = "the disk holding the store is full (or the store reached its size limit): \(intact). Free some space (or move the store and pass --db), then run the command again"
        case 8:  // SQLITE_READONLY
            advice = "the store cannot be written: the file, its folder or the file system is read-only (SQLite also writes the -wal and -shm files beside it): \(intact). Make them writable (e.g. chmod u+w), then run the command again"
        case 3, 23:  // SQLITE_PERM, SQLITE_AUTH
            advice = "permission denied on the store: \(intact). Check the permissions of the store, its -wal and -shm files and its folder"
        case 14:  // SQLITE_CANTOPEN
            advice = "the store (or its -wal or -shm file) cannot be opened: does its folder exist, and is it readable and writable? \(intact)"
        case 10:  // SQLITE_IOERR
            advice = "an I/O error while using the store (a failing disk, a full or vanished file system). SQLite rolled the transaction back, and the checkpoints stored before are intact; if the error came while syncing a commit, that commit may still be there: `density resume RUN` shows the latest step stored. Check the disk, then run `density verify`"
        case 5, 6:  // SQLITE_BUSY, SQLITE_LOCKED
            advice = "the store stayed locked by another process for longer than the 5 s wait: \(intact). Run the command again when the other writer is done"
        case 11, 26:  // SQLITE_CORRUPT, SQLITE_NOTADB
            advice = "the store file is damaged: run `density verify` to see where; queries that do not touch the damage still work"
        case 7:  // SQLITE_NOMEM
            advice = "out of memory: \(intact)"
        default:
            return error
        }
        return CLIError("\(advice) (\(error))")
    }
}
