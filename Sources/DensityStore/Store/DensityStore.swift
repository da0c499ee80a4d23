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
    /// Whether the file is a mirror (``StoreMirror``), read immutable and opened again when it
    /// is replaced under a question (``withConnection(_:)``).
    let isMirror: Bool
    /// The schema the store was opened at, for opening a replaced mirror again.
    let migrator: Migrator
    let connection: ConfinedConnection
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
    ///   writing) is on a network file system (NFS, Lustre, GPFS, CIFS, ..., told by `statfs`), or
    ///   ``StoreError/storageFailed(path:cause:detail:)`` when SQLite cannot use the file.
    public convenience init(path: String, readOnly: Bool = false, migrator: Migrator = Migrator(), durable: Bool = true) throws {
        do {
            try self.init(opening: path, readOnly: readOnly, migrator: migrator, durable: durable)
        } catch let error as SQLiteError {
            throw StoreError(error, path: path)
        }
    }

    /// ``init(path:readOnly:migrator:durable:)``, with SQLite's failures as they come.
    private init(opening path: String, readOnly: Bool, migrator: Migrator, durable: Bool) throws {
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
        // A mirror replaced while it is being opened is opened again: the new snapshot.
        let connection = try Self.askingAgainIfReplaced(isMirror) {
            try Self.connect(path, readOnly: readOnly, isMirror: isMirror, migrator: migrator, durable: durable)
        }
        self.path = path
        self.isReadOnly = readOnly
        self.isMirror = isMirror
        self.migrator = migrator
        self.connection = ConfinedConnection(connection)
    }

    /// Opens the connection to the file at `path` and readies it: a mirror immutable, another
    /// store read-only, or for writing (WAL, durability, migrated).
    static func connect(_ path: String, readOnly: Bool, isMirror: Bool, migrator: Migrator, durable: Bool) throws -> Connection {
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
        } catch let error as SQLiteError where error.primaryCode != 8 && !(isMirror && isReadOfReplacedFile(error)) {
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
        return connection
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
    /// SQLite's failures leave as ``StoreError/storageFailed(path:cause:detail:)``.
    ///
    /// On a mirror, `body` may run more than once: when a read fails because the snapshot was
    /// replaced under the connection, it runs again from its start on the new snapshot
    /// (``reopenReplacedMirror(after:retries:)``), so its answer is always one snapshot's.
    func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        do {
            guard isMirror else { return try connection.withLock(body) }
            return try connection.withLock(body, reopen: reopenReplacedMirror)
        } catch let error as SQLiteError {
            throw StoreError(error, path: path)
        }
    }

    // MARK: - Runs

    /// Creates a run.
    /// - Parameters:
    ///   - name: A unique name, 1 to 256 characters, usable in a web address (``runNameProblem(_:)``).
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
        if let problem = runNameProblem(name) { throw StoreError.invalidRunSetting(problem) }
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
        let latest = try Self.latestCheckpoint(db, run)
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
        let checkpoint = try Self.checkpoint(db, run, step: step)!
        let cache = LatestStateCache(runID: run.id, checkpoint: checkpoint, dataVersion: try Self.dataVersion(db), state: state)
        return (checkpoint, cache)
    }

    /// Where a resumed training run continues from: the checkpoint a step spec names
    /// (``StepSpec/resolve(in:run:)``), resolved in the same transaction that reads it and, with
    /// `discardLater`, deletes the checkpoints after it, so a run restarted from an older model
    /// checkpoint can record those steps again.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The checkpoint to resume from, e.g. `.latest`, `.offset(3)`, `.first`, `.exact(5000)`.
    ///   - discardLater: Delete the checkpoints after the resume point.
    /// - Returns: The checkpoint, its state, and how many later checkpoints exist (or were discarded).
    /// - Throws: a ``SelectionError`` when the spec names no checkpoint (``StepSpec/start`` names
    ///   none either), ``StoreError/unknownRun(name:known:)``.
    public func resume(run name: String, at spec: StepSpec = .latest, discardLater: Bool = false) throws
        -> (checkpoint: Checkpoint, state: DensityState, later: Int)
    {
        try withConnection { db in
            try db.inTransaction(discardLater ? .immediate : .deferred) {
                let run = try Self.requireRun(db, name)
                let checkpoint = try Self.checkpoint(db, run, at: spec)
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

    /// The exact counts over a resolved window inside the caller's transaction: the window's counts
    /// are written chunk by chunk from both ends' chunks (``forEachChunk(_:_:of:_:)``), so no whole
    /// state but the window's is held.
    static func window(_ db: Connection, _ run: Run, _ window: StepWindow) throws -> DensityWindow {
        let (start, end) = try windowCheckpoints(db, run, window)
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

    /// The checkpoints at a resolved window's bounds; `nil` start for the start of the run.
    static func windowCheckpoints(_ db: Connection, _ run: Run, _ window: StepWindow) throws
        -> (start: Checkpoint?, end: Checkpoint)
    {
        (try window.from.map { try checkpoint(db, run, at: .exact($0)) }, try checkpoint(db, run, at: .exact(window.to)))
    }

    /// ``movers(run:window:top:recentlyDead:)`` inside the caller's transaction, in one pass over
    /// the chunks of the (up to) three states at the windows' bounds: the window's counts are
    /// summarized, ranked against the previous window's and searched for the recently dead chunk
    /// by chunk, so what is held is a few chunks, the ranked features and one summary.
    static func movers(_ db: Connection, _ run: Run, window: StepWindow, steps: [Int64], top: Int, bins: Int = DensitySummary.storedBins,
                       recentlyDead: Int = 0, each: ((WindowBounds, Int, UnsafeBufferPointer<Int64>) throws -> Void)? = nil) throws
        -> WindowMovers
    {
        let (start, end) = try windowCheckpoints(db, run, window)
        var previousStart: Checkpoint??  // the previous window's start, when there is a previous window
        if let start, let earlier = StepWindow(from: start.step, to: end.step).previous(in: steps) {
            previousStart = try windowCheckpoints(db, run, earlier).start
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
            SELECT c.step, c.vectors, c.delta_depth, k.encoding, k.checksum, k.data, c.non_finite
            FROM checkpoints c LEFT JOIN chunks k ON k.checkpoint_id = c.id AND k.component = ? AND k.chunk = ?
            WHERE c.run_id = ? ORDER BY c.step
            """)
        try statement.bind([.integer(Int64(component)), .integer(Int64(chunk)), .integer(run.id)])
        var points: [TrendPoint] = []
        let offset = [feature - chunk * run.chunkFeatures]
        let index = component * run.features + feature
        while try statement.step() {
            let step = statement.int64(0), vectors = statement.int64(1)
            let before = count
            try cursor.enter(step: step, depth: statement.int(2), vectors: vectors, nonFinite: statement.int64(6))
            try offset.withUnsafeBufferPointer { offset in
                try withUnsafeMutablePointer(to: &count) { count in
                    let value = UnsafeMutableBufferPointer(start: count, count: 1)
                    try cursor.decode(statement, column: 3, component: component, chunk: chunk, at: offset, width: width,
                                      onto: value, scratch: &scratch)
                    try cursor.requireWithinVectors(UnsafeBufferPointer(value), component: component, chunk: chunk)
                }
            }
            try cursor.requireFollows(count, after: before, at: index)
            let point = TrendPoint(step: step, vectors: vectors, count: count)
            points.append(point)
        }
        return points
    }
}
