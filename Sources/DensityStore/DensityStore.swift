public import DensityMetric
internal import Foundation
internal import Synchronization

/// A FeatureDensity store: one SQLite file holding runs and their per-step checkpoints.
///
/// Open it for writing (the default) to create runs and add checkpoints, or read-only for queries,
/// which then never change, lock out or wait on a run being written by another process.
///
/// Settings (see the README's schema section): WAL journal so a reader and a writer work at once;
/// `synchronous = FULL` so a checkpoint that returned survives a power loss, not only a crash;
/// foreign keys on; a busy timeout so a brief lock from another process is waited out.
public final class DensityStore: Sendable {
    /// The file's path.
    public let path: String
    /// Whether this store was opened read-only.
    public let isReadOnly: Bool
    let connection: Mutex<Connection>
    /// The last checkpoint written through this store, verified before each use.
    let latestWritten = Mutex<LatestStateCache?>(nil)
    /// The runs this handle writes, each with its writer lock, held until the handle is released.
    let writerLocks = Mutex(HeldWriterLocks())

    /// Opens (and, for writing, creates and migrates) a store.
    /// - Parameters:
    ///   - path: The SQLite file.
    ///   - readOnly: Open for queries only; the file must exist and be at this build's schema.
    ///   - migrator: The schema migrator; this build's ``Migration/all`` by default.
    ///   - durable: `true` (the default): `synchronous = FULL`, a checkpoint that returned survives
    ///     a power loss. `false`: `synchronous = NORMAL`, which in WAL mode still survives a crash of
    ///     the process (nothing is ever half-written), but may lose the last checkpoints on a power
    ///     loss; for bulk imports that can be redone.
    /// - Throws: ``StoreError`` when the file is not a store, is too new, or was changed, or (for
    ///   writing) is on a network file system (NFS, Lustre, GPFS, CIFS, ..., told by `statfs`);
    ///   ``SQLiteError`` on I/O errors.
    public init(path: String, readOnly: Bool = false, migrator: Migrator = Migrator(), durable: Bool = true) throws {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists, isDirectory.boolValue {
            throw StoreError.notADatabase(path: path, detail: "it is a directory")
        }
        if readOnly, !exists {
            throw StoreError.notADatabase(path: path, detail: "no such file")
        }
        if !readOnly, path != ":memory:", !path.isEmpty, !path.hasPrefix("file:"),
           let fileSystem = NetworkFileSystem.name(holding: path) {
            throw StoreError.networkFileSystem(path: path, fileSystem: fileSystem)
        }
        // A mirror is replaced by rename, never written in place: read it immutable, write it never.
        let isMirror = exists && StoreMirror.isMirror(path)
        if !readOnly, isMirror {
            throw MirrorError.writeToMirror(path: path, source: (try? StoreMirror.origin(at: path))??.source ?? "another store")
        }
        if !readOnly, exists { Self.alignSidecarPermissions(storePath: path) }
        let connection: Connection
        do {
            connection = try Connection(path: path, mode: isMirror ? .immutable : readOnly ? .readOnly : .readWriteCreate)
            // SQLite falls back to read-only when the file is write-protected; refuse before any
            // read, which would leave read-only -wal and -shm files behind.
            if !readOnly && connection.isReadOnly {
                throw SQLiteError(code: 8, message: "'\(path)' is read-only (its permissions, or a read-only file system)")
            }
            // The first read of the schema is where a non-database file is found out.
            _ = try connection.query("SELECT count(*) FROM sqlite_schema") { $0.int(0) }
        } catch let error as SQLiteError where error.primaryCode != 8 {
            throw StoreError.notADatabase(path: path, detail: error.message)
        }
        try connection.execute("PRAGMA foreign_keys = ON")
        if readOnly {
            try Self.awaitSchema(connection, path: path, migrator: migrator)
        } else {
            // Check before any write, so a refused file is left exactly as it was.
            _ = try migrator.status(of: connection)
            if path != ":memory:" && !path.isEmpty {
                let mode = try connection.queryFirst("PRAGMA journal_mode = WAL") { $0.string(0) }
                if mode?.lowercased() != "wal" {
                    throw StoreError.notADatabase(path: path, detail: "cannot switch the journal to WAL (got \(mode ?? "nothing"))")
                }
            }
            try connection.execute(durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            // A checkpoint of a wide run is a few MB of pages: fold the WAL into the database every
            // 64 MB rather than every 4 MB, so most commits cost one append and one fsync.
            try connection.execute("PRAGMA wal_autocheckpoint = 16384")
            try migrator.migrate(connection)
        }
        self.path = path
        self.isReadOnly = readOnly
        self.connection = Mutex(connection)
    }

    /// How long a reader waits for a store that another process is creating or migrating.
    static let schemaWait: Duration = .seconds(3)

    /// Checks that a store opened for reading is at this build's schema. A store whose schema is
    /// still being written (`density create` in another process: no migration, or a changing set
    /// of them, applied yet) is waited for, up to ``schemaWait``; a store that stays older needs
    /// migrating.
    /// - Throws: ``StoreError/notCreatedYet(path:)`` when no schema appears in time,
    ///   ``StoreError/needsMigration(path:pending:)`` for a store of an older, unchanging schema,
    ///   or what ``Migrator/status(of:)`` throws.
    private static func awaitSchema(_ connection: Connection, path: String, migrator: Migrator) throws {
        let clock = ContinuousClock()
        let deadline = clock.now + schemaWait
        var status = try migrator.status(of: connection)
        while !status.pending.isEmpty {
            let seen = status.applied
            guard clock.now < deadline else {
                if seen.isEmpty { throw StoreError.notCreatedYet(path: path) }
                throw StoreError.needsMigration(path: path, pending: status.pending)
            }
            Thread.sleep(forTimeInterval: 0.05)
            status = try migrator.status(of: connection)
            // An older store whose schema is not changing needs migrating: no use waiting.
            if !seen.isEmpty, status.applied == seen, !status.pending.isEmpty {
                throw StoreError.needsMigration(path: path, pending: status.pending)
            }
        }
    }

    /// Runs `body` with the connection, one caller at a time.
    func withConnection<T>(_ body: sending (Connection) throws -> sending T) throws -> sending T {
        try connection.withLock { connection in try body(connection) }
    }

    // MARK: - Runs

    /// Creates a run.
    /// - Parameters:
    ///   - name: A unique name, 1 to 256 characters.
    ///   - features: The number of learned features, positive.
    ///   - components: The number of components, or `nil` for `[batch, features]` activations.
    ///   - fireThreshold: An activation fires when `> fireThreshold` (finite).
    ///   - chunkFeatures: Features per stored chunk, positive.
    ///   - keyframeInterval: A keyframe every this many checkpoints (1: every checkpoint is one).
    ///   - worldSize: How many ranks write partial states of each step (1: one process).
    ///   - metadata: Optional JSON text, such as the hyperparameters.
    /// - Returns: The new run.
    /// - Throws: ``StoreError/duplicateRun(name:)``, ``StoreError/settingOutOfRange(_:value:expected:)``
    ///   or ``StoreError/invalidRunSetting(_:)`` (the name).
    @discardableResult
    public func createRun(
        name: String, features: Int, components: Int? = nil, fireThreshold: Double = 0,
        chunkFeatures: Int = 8192, keyframeInterval: Int = 32, worldSize: Int = 1, metadata: String? = nil
    ) throws -> Run {
        try Self.checkRunSettings(name: name, features: features, components: components, fireThreshold: fireThreshold,
                                  chunkFeatures: chunkFeatures, keyframeInterval: keyframeInterval, worldSize: worldSize,
                                  metadata: metadata)
        return try withConnection { db in
            try db.inTransaction {
                try Self.insertRun(db, name: name, features: features, components: components, fireThreshold: fireThreshold,
                                   chunkFeatures: chunkFeatures, keyframeInterval: keyframeInterval, worldSize: worldSize,
                                   metadata: metadata)
            }
        }
    }

    /// Checks a checkpoint's step, as every write does, so that a caller can refuse it before
    /// reading its state.
    /// - Throws: ``StoreError/settingOutOfRange(_:value:expected:)`` for a negative step.
    public static func checkStep(_ step: Int64) throws {
        guard step >= 0 else { throw StoreError.settingOutOfRange(.step, value: String(step), expected: ">= 0") }
    }

    /// Checks a new run's settings, the one check ``createRun(name:features:components:fireThreshold:chunkFeatures:keyframeInterval:worldSize:metadata:)``
    /// makes, so that a caller can refuse them before opening anything.
    /// - Parameters: As ``createRun(name:features:components:fireThreshold:chunkFeatures:keyframeInterval:worldSize:metadata:)``.
    /// - Throws: ``StoreError/settingOutOfRange(_:value:expected:)`` naming the setting, or
    ///   ``StoreError/invalidRunSetting(_:)`` for the name or the run's width.
    public static func checkRunSettings(
        name: String, features: Int, components: Int? = nil, fireThreshold: Double = 0,
        chunkFeatures: Int = 8192, keyframeInterval: Int = 32, worldSize: Int = 1, metadata: String? = nil
    ) throws {
        guard (1...256).contains(name.unicodeScalars.count) else {  // what the schema's length(name) counts
            throw StoreError.invalidRunSetting("a run name must have 1 to 256 characters, got \(name.unicodeScalars.count)")
        }
        guard !name.unicodeScalars.contains("\0") else {
            throw StoreError.invalidRunSetting("a run name must not contain a NUL character")
        }
        guard features > 0 else {
            throw StoreError.settingOutOfRange(.features, value: String(features), expected: "a positive integer")
        }
        if let components, components <= 0 {
            throw StoreError.settingOutOfRange(.components, value: String(components), expected: "a positive integer")
        }
        guard fireThreshold.isFinite else {
            throw StoreError.settingOutOfRange(.fireThreshold, value: String(fireThreshold), expected: "a finite number")
        }
        guard chunkFeatures > 0 else {
            throw StoreError.settingOutOfRange(.chunkFeatures, value: String(chunkFeatures), expected: "a positive integer")
        }
        guard keyframeInterval > 0 else {
            throw StoreError.settingOutOfRange(.keyframeInterval, value: String(keyframeInterval), expected: "a positive integer")
        }
        guard (1...maxWorldSize).contains(worldSize) else {
            throw StoreError.settingOutOfRange(.worldSize, value: String(worldSize), expected: "1 to \(maxWorldSize)")
        }
        if chunkFeatures > StoreLimits.maxChunkFeatures {
            throw StoreError.settingOutOfRange(.chunkFeatures, value: String(chunkFeatures), expected: "at most \(StoreLimits.maxChunkFeatures)")
        }
        if keyframeInterval > StoreLimits.maxKeyframeInterval {
            throw StoreError.settingOutOfRange(.keyframeInterval, value: String(keyframeInterval),
                                               expected: "at most \(StoreLimits.maxKeyframeInterval)")
        }
        if let violation = StoreLimits.violation(features: features, components: components, chunkFeatures: chunkFeatures,
                                                 keyframeInterval: keyframeInterval) {
            throw StoreError.invalidRunSetting(violation)
        }
        if let metadata {
            guard let data = metadata.data(using: .utf8),
                  (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
            else {
                throw StoreError.settingOutOfRange(.metadata, value: "'\(metadata.prefix(60))'", expected: "valid JSON, e.g. '{\"l1\": 0.001}'")
            }
        }
    }

    /// Inserts a run whose settings were checked, inside the caller's transaction.
    static func insertRun(
        _ db: Connection, name: String, features: Int, components: Int?, fireThreshold: Double,
        chunkFeatures: Int, keyframeInterval: Int, worldSize: Int, metadata: String?
    ) throws -> Run {
        if try findRun(db, name) != nil { throw StoreError.duplicateRun(name: name) }
        try db.execute("""
            INSERT INTO runs (name, features, components, fire_threshold, chunk_features, keyframe_interval, world_size, metadata)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(name), .integer(Int64(features)), components.map { .integer(Int64($0)) } ?? .null,
                  .real(fireThreshold), .integer(Int64(chunkFeatures)), .integer(Int64(keyframeInterval)),
                  .integer(Int64(worldSize)), metadata.map { .text($0) } ?? .null])
        return try findRun(db, name)!
    }

    /// Deletes a run with all its checkpoints, in one transaction.
    /// - Parameter name: The run's name.
    /// - Returns: How many checkpoints were deleted with it.
    /// - Throws: ``StoreError/unknownRun(name:known:)``.
    @discardableResult
    public func deleteRun(named name: String) throws -> Int {
        try withConnection { db in
            try db.inTransaction {
                let run = try Self.requireRun(db, name)
                try holdWriterLock(run)
                let count = try db.queryFirst("SELECT count(*) FROM checkpoints WHERE run_id = ?",
                                              [.integer(run.id)]) { $0.int(0) } ?? 0
                try db.execute("DELETE FROM runs WHERE id = ?", [.integer(run.id)])
                return count
            }
        }
    }

    /// The run of this name.
    /// - Parameter name: The run's name.
    /// - Returns: The run.
    /// - Throws: ``StoreError/unknownRun(name:known:)`` listing the runs that exist.
    public func run(named name: String) throws -> Run {
        try withConnection { db in try Self.requireRun(db, name) }
    }

    /// Every run with its checkpoint count and latest checkpoint, by name.
    /// - Returns: One summary per run.
    /// - Throws: ``SQLiteError``.
    public func runs() throws -> [RunSummary] {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let runs = try db.query("SELECT \(Self.runColumns) FROM runs ORDER BY name", row: Self.readRun)
                return try runs.map { run in
                    let count = try db.queryFirst(
                        "SELECT count(*) FROM checkpoints WHERE run_id = ?", [.integer(run.id)]) { $0.int(0) } ?? 0
                    let pending = try db.queryFirst(
                        "SELECT count(DISTINCT step) FROM rank_states WHERE run_id = ? AND data IS NOT NULL",
                        [.integer(run.id)]) { $0.int(0) } ?? 0
                    return RunSummary(run: run, checkpointCount: count, latest: try Self.checkpoint(db, run, atOrBefore: nil),
                                      pendingSteps: pending)
                }
            }
        }
    }

    // MARK: - Checkpoints

    /// Adds a checkpoint: the run's cumulative state at a training step, in one transaction.
    ///
    /// Either the whole checkpoint is stored, or, after a crash or an error, none of it.
    /// - Parameters:
    ///   - run: The run's name.
    ///   - step: The training step; must be after the run's latest checkpoint.
    ///   - state: The cumulative state; no value may be below the previous checkpoint's.
    ///   - approximate: Whether the counts were derived from densities rather than counted.
    /// - Returns: The stored checkpoint.
    /// - Throws: ``StoreError/stepNotIncreasing(run:step:latest:)``,
    ///   ``StoreError/countsDecreased(run:step:previousStep:detail:)``,
    ///   ``StoreError/shapeMismatch(run:expected:actual:)``, ``StoreError/rankRequired(run:worldSize:)``
    ///   for a run written by several ranks, or ``SQLiteError`` (disk full, I/O).
    @discardableResult
    public func appendCheckpoint(run name: String, step: Int64, state: DensityState, approximate: Bool = false) throws -> Checkpoint {
        let (checkpoint, written) = try withConnection { db in
            try db.inTransaction(.immediate) {
                let run = try Self.requireRun(db, name)
                guard run.worldSize == 1 else { throw StoreError.rankRequired(run: name, worldSize: run.worldSize) }
                return try insertCheckpoint(db, run, step: step, state: state, approximate: approximate)
            }
        }
        latestWritten.withLock { $0 = written }  // only once the transaction has committed
        return checkpoint
    }

    /// Inserts a checkpoint inside the caller's IMMEDIATE transaction: checks the step and growth,
    /// encodes the chunks (a delta when the chain allows) and writes the summary.
    ///
    /// The previous state comes from the last checkpoint this store wrote, when it is that row and
    /// no other connection has committed since; otherwise the latest checkpoint is read back,
    /// which names any damage.
    /// - Returns: The checkpoint, and the cache entry to publish once the caller has committed.
    func insertCheckpoint(_ db: Connection, _ run: Run, step: Int64, state: DensityState, approximate: Bool)
        throws -> (Checkpoint, LatestStateCache)
    {
        try Self.checkStep(step)
        // One writer per run; a distributed run's steps are completed by whichever rank writes last,
        // serialized by the transaction, while each rank holds its own rank's lock.
        if run.worldSize == 1 { try holdWriterLock(run) }
        guard state.features == run.features, state.components == run.components else {
            throw StoreError.shapeMismatch(run: run.name, expected: run.describeShape, actual: state.describeShape)
        }
        try Self.requireSupportedRange(run, step: step, state)
        let latest = try Self.checkpoint(db, run, atOrBefore: nil)
        if let latest, step <= latest.step {
            throw StoreError.stepNotIncreasing(run: run.name, step: step, latest: latest.step)
        }
        if let latest, let cached = latestWritten.withLock({ $0 }), cached.runID == run.id, cached.checkpoint == latest {
            if try cached.isCurrent(db) {
                return try insertCheckpoint(db, run, step: step, state: state, approximate: approximate, after: latest,
                                            before: cached.state)
            }
            latestWritten.withLock { $0 = nil }
        }
        let before = try latest.map { try Self.readState(db, run, $0) }
        return try insertCheckpoint(db, run, step: step, state: state, approximate: approximate, after: latest, before: before)
    }

    /// Refuses a state to be written that does not follow the one before it
    /// (``DensityMetric/DensityState/requireFollows(_:)``), naming the write (and rank) refused.
    static func requireWritable(_ run: Run, _ state: (step: Int64, state: DensityState),
                                after previous: (step: Int64, state: DensityState), rank: Int? = nil) throws {
        let whose = rank.map { "rank \($0)'s state: " } ?? ""
        do {
            try state.state.requireFollows(previous.state)
        } catch DensityError.countsDecreased(let detail) {
            throw StoreError.countsDecreased(run: run.name, step: state.step, previousStep: previous.step, detail: whose + detail)
        } catch DensityError.countGrewPastVectors(let detail) {
            throw StoreError.countsOutgrewVectors(run: run.name, step: state.step, previousStep: previous.step, detail: whose + detail)
        }
    }

    /// Refuses a state whose numbers are past ``StoreLimits/maxCount``.
    static func requireSupportedRange(_ run: Run, step: Int64, _ state: DensityState) throws {
        if let violation = StoreLimits.rangeViolation(vectors: state.vectors, nonFinite: state.nonFinite) {
            throw StoreError.beyondSupportedRange(run: run.name, step: step, detail: violation)
        }
    }

    /// Inserts a checkpoint after `latest`, whose state is `before`.
    private func insertCheckpoint(
        _ db: Connection, _ run: Run, step: Int64, state: DensityState, approximate: Bool,
        after latest: Checkpoint?, before: DensityState?
    ) throws -> (Checkpoint, LatestStateCache) {
        var previous: DensityState?
        var depth = 0
        var requireGrowth: () throws -> Void = {}
        if let latest, let before {
            requireGrowth = { try Self.requireWritable(run, (step, state), after: (latest.step, before)) }
            if latest.deltaDepth + 1 < run.keyframeInterval {
                // The delta encoder sees every difference: it flags a decrease or a growth past
                // the vectors added, and only then is the full check run, to name it.
                previous = before
                depth = latest.deltaDepth + 1
                if state.vectors < before.vectors || state.nonFinite < before.nonFinite { try requireGrowth() }
            } else {
                try requireGrowth()
            }
        }
        let checkpointID = try Self.insertCheckpointRow(db, run, step: step, state: state, deltaDepth: depth,
                                                        approximate: approximate)
        let summary = try Self.writeChunks(db, run, checkpointID: checkpointID, state: state, previous: previous,
                                           zstd: Zstd(), summarize: true, onViolation: requireGrowth)
        try Self.writeSummary(db, checkpointID: checkpointID, summary ?? DensitySummary(state))
        let checkpoint = try Self.checkpoint(db, run, atOrBefore: step)!
        let cache = LatestStateCache(runID: run.id, checkpoint: checkpoint, dataVersion: try Self.dataVersion(db), state: state)
        return (checkpoint, cache)
    }

    /// The run's checkpoints, oldest first.
    /// - Parameter name: The run's name.
    /// - Returns: Every checkpoint.
    /// - Throws: ``StoreError/unknownRun(name:known:)``.
    public func checkpoints(run name: String) throws -> [Checkpoint] {
        try withConnection { db in
            let run = try Self.requireRun(db, name)
            return try db.query("SELECT \(Self.checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                                [.integer(run.id)], row: Self.readCheckpoint)
        }
    }

    /// The latest checkpoint at or before a step, without decoding its counts.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - step: A step, or `nil` for the latest checkpoint.
    /// - Returns: The checkpoint, or `nil` when the run has none at or before `step`.
    /// - Throws: ``StoreError/unknownRun(name:known:)``.
    public func checkpoint(run name: String, atOrBefore step: Int64? = nil) throws -> Checkpoint? {
        try withConnection { db in try Self.checkpoint(db, try Self.requireRun(db, name), atOrBefore: step) }
    }

    /// The latest checkpoint at or before a step, with its exact state.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - step: A step, or `nil` for the latest checkpoint.
    /// - Returns: The checkpoint and its state, or `nil` when the run has none at or before `step`.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
    public func state(run name: String, atOrBefore step: Int64? = nil) throws -> (checkpoint: Checkpoint, state: DensityState)? {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                guard let checkpoint = try Self.checkpoint(db, run, atOrBefore: step) else { return nil }
                return (checkpoint, try Self.readState(db, run, checkpoint))
            }
        }
    }

    /// The summary of the latest checkpoint at or before a step: vectors, mean density, dead and
    /// dense counts, and the log10-density histogram (50 bins over [-10, 0]).
    ///
    /// Read from the summary stored with the checkpoint, without decoding counts; a checkpoint
    /// written before summaries existed is decoded and summarized instead.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - step: A step, or `nil` for the latest checkpoint.
    /// - Returns: The checkpoint and its summary, or `nil` when the run has none at or before `step`.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, or a damaged-chunk error when decoding.
    public func summary(run name: String, atOrBefore step: Int64? = nil) throws -> (checkpoint: Checkpoint, summary: DensitySummary)? {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                guard let checkpoint = try Self.checkpoint(db, run, atOrBefore: step) else { return nil }
                if let stored = try Self.storedSummary(db, run, checkpoint) { return (checkpoint, stored) }
                return (checkpoint, DensitySummary(try Self.readState(db, run, checkpoint)))
            }
        }
    }

    /// Where a resumed training run continues from: its latest checkpoint at or before a step.
    ///
    /// With `discardLater`, the checkpoints after it are deleted in the same transaction, so a run
    /// restarted from an older model checkpoint can record those steps again.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - step: Resume at or before this step; `nil` for the latest checkpoint.
    ///   - discardLater: Delete the checkpoints after the resume point.
    /// - Returns: The checkpoint, its state, and how many later checkpoints exist (or were discarded).
    /// - Throws: ``StoreError/noCheckpoint(run:atOrBefore:)`` when there is nothing to resume from.
    public func resume(run name: String, at step: Int64? = nil, discardLater: Bool = false) throws
        -> (checkpoint: Checkpoint, state: DensityState, later: Int)
    {
        try resume(run: name, from: .atOrBefore(step), discardLater: discardLater)
    }

    /// Where a resumed training run continues from: the checkpoint a step spec names
    /// (``StepSpec/resolve(in:run:)``), resolved in the same transaction that reads it and, with
    /// `discardLater`, deletes the checkpoints after it.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The checkpoint to resume from, e.g. `.latest`, `.offset(3)`, `.first`, `.exact(5000)`.
    ///   - discardLater: Delete the checkpoints after the resume point.
    /// - Returns: The checkpoint, its state, and how many later checkpoints exist (or were discarded).
    /// - Throws: a ``SelectionError`` when the spec names no checkpoint (``StepSpec/start`` names
    ///   none either), ``StoreError/unknownRun(name:known:)``.
    public func resume(run name: String, at spec: StepSpec, discardLater: Bool = false) throws
        -> (checkpoint: Checkpoint, state: DensityState, later: Int)
    {
        try resume(run: name, from: .spec(spec), discardLater: discardLater)
    }

    /// The checkpoint a resume starts from, in either spelling.
    private enum ResumePoint: Sendable {
        /// The latest checkpoint at or before a step (`nil`: the latest).
        case atOrBefore(Int64?)
        /// The checkpoint a spec names.
        case spec(StepSpec)
    }

    /// The resume of both spellings: the point is resolved inside the transaction.
    private func resume(run name: String, from point: ResumePoint, discardLater: Bool) throws
        -> (checkpoint: Checkpoint, state: DensityState, later: Int)
    {
        try withConnection { db in
            try db.inTransaction(discardLater ? .immediate : .deferred) {
                let run = try Self.requireRun(db, name)
                let checkpoint: Checkpoint
                switch point {
                case .atOrBefore(let step):
                    guard let found = try Self.checkpoint(db, run, atOrBefore: step) else {
                        throw StoreError.noCheckpoint(run: name, atOrBefore: step)
                    }
                    checkpoint = found
                case .spec(let spec):
                    guard let step = try spec.resolve(in: Self.checkpointSteps(db, run), run: name),
                          let found = try Self.checkpoint(db, run, atOrBefore: step) else {
                        throw SelectionError.startIsNoCheckpoint(run: name)
                    }
                    checkpoint = found
                }
                if discardLater { try holdWriterLock(run) }
                let state = try Self.readState(db, run, checkpoint)
                let later = try db.queryFirst("SELECT count(*) FROM checkpoints WHERE run_id = ? AND step > ?",
                                              [.integer(run.id), .integer(checkpoint.step)]) { $0.int(0) } ?? 0
                if discardLater, later > 0 {
                    try db.execute("DELETE FROM checkpoints WHERE run_id = ? AND step > ?",
                                   [.integer(run.id), .integer(checkpoint.step)])
                }
                if discardLater {  // ranks' partial states after the resume point go too
                    try db.execute("DELETE FROM rank_states WHERE run_id = ? AND step > ?",
                                   [.integer(run.id), .integer(checkpoint.step)])
                }
                return (checkpoint, state, later)
            }
        }
    }

    /// The exact counts over a window (from, to] of checkpoint steps.
    ///
    /// Each bound resolves to the latest checkpoint at or before it; `from: nil` is the empty state
    /// before the first checkpoint, so `window(from: nil, to: s)` is the cumulative state at `s`.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - from: The window starts after this step; `nil` for the start of the run.
    ///   - to: The window ends at this step.
    /// - Returns: The window, with the checkpoint steps actually used.
    /// - Throws: ``StoreError/invalidWindow(run:from:to:)`` when `from >= to`,
    ///   ``StoreError/noCheckpoint(run:atOrBefore:)`` when a bound precedes every checkpoint.
    public func window(run name: String, from: Int64?, to: Int64) throws -> DensityWindow {
        if let from, from >= to { throw StoreError.invalidWindow(run: name, from: from, to: to) }
        return try withConnection { db in
            try db.inTransaction(.deferred) { try Self.window(db, try Self.requireRun(db, name), from: from, to: to) }
        }
    }

    /// ``window(run:from:to:)`` inside the caller's transaction: the window's counts are written
    /// chunk by chunk from both ends' chunks (``forEachChunk(_:_:of:_:)``), so no whole state but
    /// the window's is held.
    static func window(_ db: Connection, _ run: Run, from: Int64?, to: Int64) throws -> DensityWindow {
        let (start, end) = try windowCheckpoints(db, run, from: from, to: to)
        var counts = [Int64](repeating: 0, count: (run.components ?? 1) * run.features)
        try counts.withUnsafeMutableBufferPointer { counts in
            try forEachChunk(db, run, of: [start, end]) { position, chunks in
                for i in 0..<position.width { counts[position.start + i] = chunks[1][i] - chunks[0][i] }
            }
        }
        let state = try DensityState(features: run.features, components: run.components, counts: counts,
                                     vectors: end.vectors - (start?.vectors ?? 0),
                                     nonFinite: end.nonFinite - (start?.nonFinite ?? 0))
        return DensityWindow(run: run.name, from: start?.step, to: end.step, state: state)
    }

    /// The checkpoints a window (from, to] resolves to: each bound the latest checkpoint at or
    /// before it; `nil` start for the start of the run.
    /// - Throws: ``StoreError/noCheckpoint(run:atOrBefore:)`` when a bound precedes every
    ///   checkpoint, ``StoreError/invalidWindow(run:from:to:)`` when both resolve to one checkpoint.
    static func windowCheckpoints(_ db: Connection, _ run: Run, from: Int64?, to: Int64) throws
        -> (start: Checkpoint?, end: Checkpoint)
    {
        guard let end = try checkpoint(db, run, atOrBefore: to) else {
            throw StoreError.noCheckpoint(run: run.name, atOrBefore: to)
        }
        guard let from else { return (nil, end) }
        guard let start = try checkpoint(db, run, atOrBefore: from) else {
            throw StoreError.noCheckpoint(run: run.name, atOrBefore: from)
        }
        if start.step == end.step { throw StoreError.invalidWindow(run: run.name, from: start.step, to: end.step) }
        return (start, end)
    }

    /// A window's summary, the previous window (``StepWindow/previous(in:)``), and the features
    /// whose density rose and fell most between them, read in one transaction.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - window: The window, as resolved by ``resolve(_:run:)-(WindowSpec,_)``.
    ///   - top: How many risers and fallers to rank (0: none).
    ///   - recentlyDead: How many of the features dead in the window that fired before it to list,
    ///     the latest to last rise first (0: none).
    /// - Returns: Both windows and the ranked changes.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, ``StoreError/noCheckpoint(run:atOrBefore:)``,
    ///   ``StoreError/invalidWindow(run:from:to:)``, ``StoreError/emptyWindow(run:from:to:)`` when
    ///   the window holds no vectors, or a damaged-chunk error.
    public func movers(run name: String, window: StepWindow, top: Int, recentlyDead: Int = 0) throws -> WindowMovers {
        if let from = window.from, from >= window.to { throw StoreError.invalidWindow(run: name, from: from, to: window.to) }
        return try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                return try Self.movers(db, run, window: window, steps: try Self.checkpointSteps(db, run), top: top,
                                       recentlyDead: recentlyDead)
            }
        }
    }

    /// ``movers(run:window:top:recentlyDead:)`` for a window as written, resolved
    /// (``resolve(_:run:)-(WindowSpec,_)``) in the same transaction that reads it: one snapshot.
    ///
    /// With `each`, the window's counts are handed over too, a chunk at a time in (component,
    /// feature) order, as they are read: what `diff --format csv|json` prints, without holding
    /// them all.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The window as written.
    ///   - top: How many risers and fallers to rank (0: none).
    ///   - each: Called with the window, the flat index of each chunk's first feature and the
    ///     window's counts of the chunk (valid during the call only).
    /// - Returns: Both windows and the ranked changes.
    /// - Throws: What ``resolve(_:run:)-(WindowSpec,_)`` and ``movers(run:window:top:recentlyDead:)``
    ///   throw, or what `each` throws.
    public func movers(run name: String, window spec: WindowSpec, top: Int,
                       each: sending ((WindowBounds, Int, UnsafeBufferPointer<Int64>) throws -> Void)? = nil) throws -> WindowMovers {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                let steps = try Self.checkpointSteps(db, run)
                return try Self.movers(db, run, window: Self.resolve(spec, in: steps, run: name), steps: steps, top: top,
                                       each: each)
            }
        }
    }

    /// ``movers(run:window:top:recentlyDead:)`` inside the caller's transaction, in one pass over
    /// the chunks of the (up to) three states at the windows' bounds: the window's counts are
    /// summarized, ranked against the previous window's and searched for the recently dead chunk
    /// by chunk, so what is held is a few chunks, the ranked features and one summary.
    static func movers(_ db: Connection, _ run: Run, window: StepWindow, steps: [Int64], top: Int, bins: Int = DensitySummary.storedBins,
                       recentlyDead: Int = 0, each: ((WindowBounds, Int, UnsafeBufferPointer<Int64>) throws -> Void)? = nil) throws
        -> WindowMovers
    {
        let (start, end) = try windowCheckpoints(db, run, from: window.from, to: window.to)
        var previousStart: Checkpoint??  // the previous window's start, when there is a previous window
        if let start, let earlier = StepWindow(from: start.step, to: end.step).previous(in: steps) {
            previousStart = try windowCheckpoints(db, run, from: earlier.from, to: earlier.to).start
        }
        let previous = previousStart.map { previousStart in
            WindowBounds(from: previousStart?.step, to: start!.step, vectors: start!.vectors - (previousStart?.vectors ?? 0))
        }
        try requireTotalsFollow(run, (previousStart.map { [$0] } ?? []) + [start, end])
        let counted = WindowBounds(from: start?.step, to: end.step, vectors: end.vectors - (start?.vectors ?? 0))
        guard counted.vectors > 0 else { throw StoreError.emptyWindow(run: run.name, from: counted.from, to: counted.to) }
        let width = (run.components ?? 1) * run.features
        let summary = DensitySummary.Builder(vectors: counted.vectors, width: width,
                                             nonFinite: end.nonFinite - (start?.nonFinite ?? 0), bins: bins)
        var tallies: [DensitySummary.Tally] = []
        // The previous window's start is read only to rank against it.
        var ranking = WindowMovers.Ranking(top: (previous?.vectors ?? 0) > 0 ? top : 0)
        let bounds: [Checkpoint?] = (ranking.top > 0 ? [previousStart!] : []) + [start, end]
        var dead: RecentlyDeadSearch?
        if let start, recentlyDead > 0 { dead = try RecentlyDeadSearch(db, run, before: start, limit: recentlyDead) }
        let scratch = UnsafeMutableBufferPointer<Int64>.allocate(capacity: run.chunkFeatures)
        defer { scratch.deallocate() }
        let (now, before) = (Double(counted.vectors), Double(previous?.vectors ?? 0))
        try forEachChunk(db, run, of: bounds) { position, chunks in
            let (startChunk, endChunk) = (chunks[chunks.count - 2], chunks[chunks.count - 1])
            let counts = UnsafeMutableBufferPointer(rebasing: scratch[0..<position.width])
            for i in 0..<position.width { counts[i] = endChunk[i] - startChunk[i] }
            tallies.append(summary.tally(UnsafeBufferPointer(counts)))
            try each?(counted, position.start, UnsafeBufferPointer(counts))
            if ranking.top > 0 {
                let earlierChunk = chunks[0]
                ranking.add(start: position.start, count: position.width) { i in
                    (Double(counts[i]) / now, Double(startChunk[i] - earlierChunk[i]) / before)
                }
            }
            try dead?.add(position, window: UnsafeBufferPointer(counts), start: startChunk)
        }
        return WindowMovers(window: counted, previous: previous, summary: summary.summary(tallies),
                            risers: ranking.risers, fallers: ranking.fallers, recentlyDead: dead?.found ?? [])
    }

    /// The summary of a window as written, resolved (``resolve(_:run:)-(WindowSpec,_)``) and read
    /// in one transaction, chunk by chunk: what `histogram --from A --to B` shows, without holding
    /// the window's counts.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The window as written.
    ///   - bins: The histogram's bins over [-10, 0].
    /// - Returns: The window and its summary.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``,
    ///   ``StoreError/emptyWindow(run:from:to:)`` when the window holds no vectors, or a damaged-chunk error.
    public func summary(run name: String, window spec: WindowSpec, bins: Int = DensitySummary.storedBins) throws
        -> (window: WindowBounds, summary: DensitySummary)
    {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                let steps = try Self.checkpointSteps(db, run)
                let found = try Self.movers(db, run, window: Self.resolve(spec, in: steps, run: name), steps: steps, top: 0,
                                            bins: bins)
                return (found.window, found.summary)
            }
        }
    }

    /// The exact counts over a window as written, resolved (``resolve(_:run:)-(WindowSpec,_)``) in
    /// the same transaction that reads them: one snapshot, whatever another process commits.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The window as written.
    /// - Returns: The window, with the checkpoint steps it resolved to.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``, or a damaged-chunk error.
    public func window(run name: String, _ spec: WindowSpec) throws -> DensityWindow {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                let window = try Self.resolve(spec, in: Self.checkpointSteps(db, run), run: name)
                return try Self.window(db, run, from: window.from, to: window.to)
            }
        }
    }

    /// The checkpoint a step spec names and its exact state, resolved in the transaction that reads it.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The step as written; ``StepSpec/start`` names no checkpoint.
    /// - Returns: The checkpoint and its state.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``, or a damaged-chunk error.
    public func state(run name: String, at spec: StepSpec) throws -> (checkpoint: Checkpoint, state: DensityState) {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                guard let step = try spec.resolve(in: Self.checkpointSteps(db, run), run: name),
                      let checkpoint = try Self.checkpoint(db, run, atOrBefore: step) else {
                    throw SelectionError.startIsNoCheckpoint(run: name)
                }
                return (checkpoint, try Self.readState(db, run, checkpoint))
            }
        }
    }

    /// One feature's cumulative count at every checkpoint, reading only that feature's chunk.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - feature: The 0-based feature index.
    ///   - component: The 0-based component index (0 when the run has none).
    /// - Returns: One point per checkpoint, oldest first.
    /// - Throws: ``StoreError/indexOutOfRange(run:what:index:size:)``, ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
    public func trend(run name: String, feature: Int, component: Int = 0) throws -> [TrendPoint] {
        try withConnection { db in
            try db.inTransaction(.deferred) { try Self.trend(db, try Self.requireRun(db, name), feature: feature, component: component) }
        }
    }

    /// ``trend(run:feature:component:)`` inside the caller's transaction.
    static func trend(_ db: Connection, _ run: Run, feature: Int, component: Int) throws -> [TrendPoint] {
        let name = run.name
        guard (0..<run.features).contains(feature) else {
            throw StoreError.indexOutOfRange(run: name, what: "feature", index: feature, size: run.features)
        }
        guard (0..<(run.components ?? 1)).contains(component) else {
            throw StoreError.indexOutOfRange(run: name, what: "component", index: component, size: run.components ?? 1)
        }
        let chunk = feature / run.chunkFeatures
        let width = chunkPosition(run, component: component, chunk: chunk).width
        var scratch: [UInt8] = []
        var count: Int64 = 0
        var cursor = DeltaChain.Cursor(run)
        // One pass in step order: a keyframe chunk gives the count, a delta chunk adds to it.
        let statement = try db.prepare("""
            SELECT c.step, c.vectors, c.delta_depth, k.encoding, k.checksum, k.data
            FROM checkpoints c LEFT JOIN chunks k ON k.checkpoint_id = c.id AND k.component = ? AND k.chunk = ?
            WHERE c.run_id = ? ORDER BY c.step
            """)
        try statement.bind([.integer(Int64(component)), .integer(Int64(chunk)), .integer(run.id)])
        var points: [TrendPoint] = []
        let offset = [feature - chunk * run.chunkFeatures]
        while try statement.step() {
            let step = statement.int64(0)
            try cursor.enter(step: step, depth: statement.int(2))
            try offset.withUnsafeBufferPointer { offset in
                try withUnsafeMutablePointer(to: &count) { count in
                    try cursor.decode(statement, column: 3, component: component, chunk: chunk, at: offset, width: width,
                                      onto: UnsafeMutableBufferPointer(start: count, count: 1), scratch: &scratch)
                }
            }
            let vectors = statement.int64(1)
            guard count <= vectors else {
                throw DeltaChain.damaged(run, step: step, component: component, chunk: chunk,
                                         "count \(count) is above the vectors seen (\(vectors))")
            }
            if let last = points.last, vectors < last.vectors || count < last.count || count - last.count > vectors - last.vectors {
                let at = run.components == nil ? "feature \(feature)" : "component \(component), feature \(feature)"
                throw StoreError.inconsistentHistory(
                    run: name, step: step, previousStep: last.step,
                    detail: vectors < last.vectors || count < last.count
                        ? "the vectors or the count at \(at) decreased (\(last.vectors) to \(vectors), \(last.count) to \(count))"
                        : DensityState.describeGrowth(at: at, from: last.count, to: count, vectorsFrom: last.vectors, vectorsTo: vectors))
            }
            points.append(TrendPoint(step: step, vectors: vectors, count: count))
        }
        return points
    }
}
