import DensityStore

/// The command line's fix of a store SQLite could not use (``StoreError/storageFailed(path:cause:detail:)``),
/// naming its flags and commands; the library has told the cause, so nothing here reads a SQLite code.
/// Every write is one transaction, so each says that nothing of the failed command was stored and
/// the checkpoints already stored are intact.
enum StoreFailure {
    /// The error to print: a ``CLIError`` with the command line's fix for a storage failure, else `error` itself.
    static func explain(_ error: any Error) -> any Error {
        guard case let StoreError.storageFailed(_, cause, detail) = error else { return error }
        let intact = "nothing of this command was stored, and the checkpoints already stored are intact"
        let advice: String
        switch cause {
        case .full:
            advice = "the disk holding the store is full (or the store reached its size limit): \(intact). Free some space (or move the store and pass --db), then run the command again"
        case .readOnly:
            advice = "the store cannot be written: the file, its folder or the file system is read-only (SQLite also writes the -wal and -shm files beside it): \(intact). Make them writable (e.g. chmod u+w), then run the command again"
        case .permission:
            advice = "permission denied on the store: \(intact). Check the permissions of the store, its -wal and -shm files and its folder"
        case .cannotOpen:
            advice = "the store (or its -wal or -shm file) cannot be opened: does its folder exist, and is it readable and writable? \(intact)"
        case .io:
            advice = "an I/O error while using the store (a failing disk, a full or vanished file system). SQLite rolled the transaction back, and the checkpoints stored before are intact; if the error came while syncing a commit, that commit may still be there: `density resume RUN` shows the latest step stored. Check the disk, then run `density verify`"
        case .busy:
            advice = "the store stayed locked by another process for longer than the 5 s wait: \(intact). Run the command again when the other writer is done"
        case .damaged:
            advice = "the store file is damaged: run `density verify` to see where; queries that do not touch the damage still work"
        case .noMemory:
            advice = "out of memory: \(intact)"
        case .other:
            return error
        }
        return CLIError("\(advice) (\(detail))")
    }
}
