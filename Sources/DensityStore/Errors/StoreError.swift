/// Why the store refused a request. Each case carries the values that were wrong; its message says
/// what was wrong and how to fix it in the library's terms. Nothing already stored is changed when
/// one is thrown.
public enum StoreError: DensityProblem, Hashable {
    /// What SQLite reported when it could not use the store, told by its result code.
    public enum StorageCause: String, Sendable, Hashable {
        /// The disk, or the store's size limit, is full (`SQLITE_FULL`).
        case full
        /// The file, its folder or the file system is read-only (`SQLITE_READONLY`).
        case readOnly
        /// Permission was denied (`SQLITE_PERM`, `SQLITE_AUTH`).
        case permission
        /// The file, or its -wal or -shm file, cannot be opened (`SQLITE_CANTOPEN`).
        case cannotOpen
        /// An I/O error (`SQLITE_IOERR`).
        case io
        /// Another connection held a lock past the wait (`SQLITE_BUSY`, `SQLITE_LOCKED`), or the
        /// schema changed under the statement (`SQLITE_SCHEMA`).
        case busy
        /// The file is damaged or not a database (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
        case damaged
        /// Out of memory (`SQLITE_NOMEM`).
        case noMemory
        /// Any other failure.
        case other
    }

    /// The file is not an SQLite database, or cannot be read.
    case notADatabase(path: String, detail: String)
    /// The file is an SQLite database, but not a FeatureDensity store.
    case notAStore(path: String, reason: String)
    /// The store was written by a newer version: it holds a schema version this build lacks.
    case schemaTooNew(path: String, unknown: String, latestKnown: String)
    /// An applied migration's SQL differs from this build's file of the same version.
    case migrationChanged(path: String, version: String, name: String)
    /// A read-only open found a schema older than this build's.
    case needsMigration(path: String, pending: [String])
    /// The store is on a network file system, where it must not be written.
    case networkFileSystem(path: String, fileSystem: String)
    /// No run has this name.
    case unknownRun(name: String, known: [String])
    /// A run of this name exists already.
    case duplicateRun(name: String)
    /// A run setting is not valid.
    case invalidRunSetting(String)
    /// The state's width does not match the run's.
    case shapeMismatch(run: String, expected: String, actual: String)
    /// Steps must strictly increase within a run.
    case stepNotIncreasing(run: String, step: Int64, latest: Int64)
    /// A checkpoint's counts or vectors are below the previous checkpoint's.
    case countsDecreased(run: String, step: Int64, previousStep: Int64, detail: String)
    /// A checkpoint's count grew by more than its vectors since the previous checkpoint.
    case countsOutgrewVectors(run: String, step: Int64, previousStep: Int64?, detail: String)
    /// A state's numbers are past ``StoreLimits/maxCount``.
    case beyondSupportedRange(run: String, step: Int64, detail: String)
    /// Stored checkpoints break the store's invariants (a damaged store, or one written by another
    /// program): a query refuses what it cannot answer within them.
    case inconsistentHistory(run: String, step: Int64, previousStep: Int64?, detail: String)
    /// A window holds no activation vectors, so its densities are undefined.
    case emptyWindow(run: String, from: Int64?, to: Int64)
    /// A feature or component index is outside the run.
    case indexOutOfRange(run: String, what: String, index: Int, size: Int)
    /// A stored chunk fails its checksum or does not decode.
    case corruptChunk(run: String, step: Int64, component: Int, chunk: Int, reason: String)
    /// A different state is already stored at this step (of this rank).
    case conflictingState(run: String, step: Int64, rank: Int?)
    /// The run is written by several ranks: a whole state cannot be added to it.
    case rankRequired(run: String, worldSize: Int)
    /// A rank write names a world size other than the run's.
    case worldSizeMismatch(run: String, worldSize: Int, given: Int)
    /// A rank wrote a step at or before the run's latest complete step.
    case rankStepCompleted(run: String, step: Int64, rank: Int, latest: Int64)
    /// Two stores of a merge hold different states at one step (of one rank).
    case mergeConflict(run: String, step: Int64, rank: Int?)
    /// Two stores hold runs of one name that measure different things.
    case runSettingsDiffer(run: String, detail: String)
    /// A setting or argument outside its range: which, the value given, and what it must be.
    case settingOutOfRange(StoreSetting, value: String, expected: String)
    /// A file opened for reading holds no store schema yet (another process is creating it).
    case notCreatedYet(path: String)
    /// A store was given as a source of a merge into itself (the same file).
    case mergeIntoItself(path: String)
    /// SQLite could not use the store: the cause, and SQLite's own account for the record.
    case storageFailed(path: String, cause: StorageCause, detail: String)

    /// What was wrong, with which value: the description without its fix.
    public var problem: String {
        switch self {
        case let .notADatabase(path, detail):
            return "'\(path)' is not a readable SQLite database (\(detail))"
        case let .notAStore(path, reason):
            return "'\(path)' is not a FeatureDensity store: \(reason)"
        case let .schemaTooNew(path, unknown, latestKnown):
            return "'\(path)' was written by a newer version (schema \(unknown); this build knows up to \(latestKnown)). Nothing was changed"
        case let .migrationChanged(path, version, name):
            return "'\(path)' applied migration \(version)_\(name), whose SQL differs from this build's Migrations/\(version)_\(name).sql; migrations must never be edited once released. Nothing was changed"
        case let .needsMigration(path, pending):
            return "'\(path)' has an older schema (missing \(pending.joined(separator: ", ")))"
        case let .networkFileSystem(path, fileSystem):
            return "'\(path)' is on a network file system (\(fileSystem)), where a store must not be written: SQLite's WAL journal shares its index through memory that other hosts do not see, so readers elsewhere could get torn or stale checkpoints, and the writer lock may not be honoured. Nothing was written"
        case let .unknownRun(name, known):
            let list = known.isEmpty ? "the store has no runs"
                : "runs in the store: \(known.prefix(10).joined(separator: ", "))\(known.count > 10 ? ", …" : "")"
            return "no run named '\(name)' (\(list))"
        case let .duplicateRun(name):
            return "a run named '\(name)' exists already"
        case let .invalidRunSetting(text):
            return text
        case let .settingOutOfRange(setting, value, expected):
            return "\(setting.words) must be \(expected), got \(value)"
        case let .notCreatedYet(path):
            return "no store at '\(path)' yet: the file holds no schema (it is still being created, or its creation was interrupted)"
        case let .mergeIntoItself(path):
            return "'\(path)' cannot be merged into itself (a source is the destination's own file); merge into another file"
        case let .shapeMismatch(run, expected, actual):
            return "run '\(run)' has \(expected), but the state has \(actual)"
        case let .stepNotIncreasing(run, step, latest):
            return "step \(step) is not after the latest checkpoint of run '\(run)' (step \(latest)); steps must strictly increase"
        case let .countsDecreased(run, step, previousStep, detail):
            return "checkpoint at step \(step) of run '\(run)' is below the previous checkpoint (step \(previousStep)): \(detail). Counts are cumulative and only grow; pass the cumulative state, not a per-window one"
        case let .countsOutgrewVectors(run, step, previousStep, detail):
            let since = previousStep.map { "since the previous checkpoint (step \($0))" } ?? "since the start of the run"
            return "checkpoint at step \(step) of run '\(run)' is refused: \(since), \(detail). A feature fires at most once per activation vector, so no count grows by more than num_activation_vectors; pass neuron_fired_count and num_activation_vectors of one and the same cumulative state"
        case let .beyondSupportedRange(run, step, detail):
            return "state at step \(step) of run '\(run)' is refused: \(detail). No training run reaches such numbers: check that the state is the metric's own (not an uninitialized or overflowed tensor)"
        case let .inconsistentHistory(run, step, previousStep, detail):
            let between = previousStep.map { "between steps \($0) and \(step)" } ?? "at step \(step)"
            return "run '\(run)' breaks the store's invariants \(between): \(detail). The store is damaged or was written by another program"
        case let .emptyWindow(run, from, to):
            return "window (\(from.map(String.init) ?? "start"), \(to)] of run '\(run)' holds no activation vectors; its densities are undefined. Choose steps further apart"
        case let .indexOutOfRange(run, what, index, size):
            return "\(what) \(index) is out of range for run '\(run)', which has \(size) (indexes are 0-based: 0...\(size - 1))"
        case let .corruptChunk(run, step, component, chunk, reason):
            return "run '\(run)', step \(step), component \(component), chunk \(chunk) is damaged: \(reason)"
        case let .conflictingState(run, step, rank):
            let who = rank.map { "rank \($0) of run '\(run)'" } ?? "run '\(run)'"
            return "\(who) already has a different state at step \(step); a stored step is never overwritten"
        case let .rankRequired(run, worldSize):
            return "run '\(run)' is written by \(worldSize) ranks"
        case let .worldSizeMismatch(run, worldSize, given):
            return "run '\(run)' has world size \(worldSize), but world size \(given) was given"
        case let .rankStepCompleted(run, step, rank, latest):
            return "rank \(rank) wrote step \(step) of run '\(run)', but steps up to \(latest) are already complete; each rank must write its steps in increasing order"
        case let .mergeConflict(run, step, rank):
            let whose = rank.map { "rank \($0)'s state" } ?? "the state"
            return "cannot merge run '\(run)': the stores hold different versions of \(whose) at step \(step), and a merge never overwrites one. Nothing was changed"
        case let .runSettingsDiffer(run, detail):
            return "both stores have a run '\(run)', but with different settings (\(detail)); they are different runs and cannot become one; merge the other runs, or merge into a new store"
        case let .storageFailed(path, cause, detail):
            let intact = "nothing of this request was stored, and the checkpoints already stored are intact"
            let what = switch cause {
            case .full: "the disk holding '\(path)' is full (or the store reached its size limit): \(intact)"
            case .readOnly: "'\(path)' cannot be written: the file, its folder or the file system is read-only (SQLite also writes the -wal and -shm files beside it): \(intact)"
            case .permission: "permission denied on '\(path)': \(intact)"
            case .cannotOpen: "'\(path)' (or its -wal or -shm file) cannot be opened: \(intact)"
            case .io: "an I/O error while using '\(path)' (a failing disk, a full or vanished file system); the transaction was rolled back and the checkpoints stored before are intact, but a commit that failed while syncing may still be there"
            case .busy: "'\(path)' stayed locked by another process for longer than the wait: \(intact)"
            case .damaged: "'\(path)' is damaged"
            case .noMemory: "out of memory while using '\(path)': \(intact)"
            case .other: "SQLite could not use '\(path)'"
            }
            return "\(what) (\(detail))"
        }
    }

    /// What kind of failure this is.
    public var kind: ProblemKind {
        switch self {
        case .unknownRun: .notFound
        case .notADatabase, .notAStore, .networkFileSystem, .invalidRunSetting, .shapeMismatch, .countsDecreased,
             .countsOutgrewVectors, .beyondSupportedRange, .emptyWindow, .indexOutOfRange, .rankRequired,
             .worldSizeMismatch, .settingOutOfRange, .mergeIntoItself: .invalidInput
        case .schemaTooNew, .needsMigration, .duplicateRun, .stepNotIncreasing, .conflictingState, .rankStepCompleted,
             .mergeConflict, .runSettingsDiffer: .conflict
        case .notCreatedYet: .busy
        case .migrationChanged, .inconsistentHistory, .corruptChunk: .damaged
        case let .storageFailed(_, cause, _):
            switch cause {
            case .busy: .busy
            case .damaged: .damaged
            case .other: .internal
            case .full, .readOnly, .permission, .cannotOpen, .io, .noMemory: .unavailable
            }
        }
    }

    /// How to fix it, in the library's terms, where the fix is not already part of ``problem``.
    public var remedy: String? {
        switch self {
        case .notADatabase:
            return "open a FeatureDensity store, or a new path to create one"
        case .notAStore:
            return "open another path"
        case .schemaTooNew:
            return "a newer version of FeatureDensity reads it"
        case .needsMigration:
            return "open it once for writing to upgrade it"
        case .networkFileSystem:
            return "write the store on a local disk (node-local scratch, /tmp) and merge the nodes' stores into one afterwards, or copy the store to a local disk to write it; reading a store on a network file system is fine"
        case let .unknownRun(_, known) where known.isEmpty:
            return "create the run first"
        case .duplicateRun:
            return "choose another name, or add checkpoints to the run that exists"
        case .notCreatedYet:
            return "retry once its creation has finished"
        case .stepNotIncreasing:
            return "to restart training from an earlier step, rewind the run to that step first (discarding the checkpoints after it)"
        case .inconsistentHistory:
            return "verify the store to list every problem, and query other steps meanwhile"
        case .conflictingState:
            return "to record that step again, rewind the run to a step before it first (discarding the checkpoints after it)"
        case let .rankRequired(_, worldSize):
            return "write each rank's own state with its rank and a world size of \(worldSize)"
        case .worldSizeMismatch:
            return "every rank of a run must give the same world size (a run's world size is set by its first write)"
        case .mergeConflict:
            return "compare the two stores' states at that step, then merge without the store whose state is wrong"
        case let .storageFailed(_, cause, _):
            return switch cause {
            case .full: "free some space (or move the store), then try again"
            case .readOnly: "make them writable, then try again"
            case .permission: "check the permissions of the store, its -wal and -shm files and its folder"
            case .cannotOpen: "check that its folder exists and is readable and writable"
            case .io: "check the disk, then verify the store"
            case .busy: "try again when the other writer is done"
            case .damaged: "verify the store to see where; queries that do not touch the damage still work"
            case .noMemory, .other: nil
            }
        default:
            return nil
        }
    }
}

extension StoreError {
    /// SQLite's failure to use the store at `path`, told by its result code: the one place a
    /// SQLite code is read, so no caller matches one.
    init(_ error: SQLiteError, path: String) {
        let cause: StorageCause = switch error.primaryCode {
        case 13: .full  // SQLITE_FULL
        case 8: .readOnly  // SQLITE_READONLY
        case 3, 23: .permission  // SQLITE_PERM, SQLITE_AUTH
        case 14: .cannotOpen  // SQLITE_CANTOPEN
        case 10: .io  // SQLITE_IOERR
        case 5, 6, 17: .busy  // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_SCHEMA
        case 11, 26: .damaged  // SQLITE_CORRUPT, SQLITE_NOTADB
        case 7: .noMemory  // SQLITE_NOMEM
        default: .other
        }
        self = .storageFailed(path: path, cause: cause, detail: error.description)
    }
}
