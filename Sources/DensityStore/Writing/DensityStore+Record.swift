public import DensityMetric
internal import Foundation
internal import Synchronization

// MARK: - Recording states: idempotent writes, and partial states of distributed ranks

extension DensityStore {
    /// The largest number of ranks a run may have.
    public static let maxWorldSize = 65_536

    /// Records a training loop's state at a step: the whole state, or one rank's partial state.
    ///
    /// Writing the very same state again is a no-op (``RecordOutcome/alreadyStored``), so
    /// re-running an import or replaying a stream is safe; a different state at a stored step is
    /// refused.
    ///
    /// With `rank`, the state is rank `rank.rank`'s share of the step, in a run of
    /// `rank.worldSize` ranks (the first rank write of a run without checkpoints sets it). The
    /// step becomes a checkpoint holding the sum of every rank's state (torchmetrics'
    /// `dist_reduce_fx = "sum"`) once all ranks have written it and every earlier pending step is
    /// complete; until then it is pending and invisible to queries. Ranks may write in any order.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - step: The training step.
    ///   - state: The cumulative state (of this rank, with `rank`).
    ///   - rank: This writer's rank and the run's world size, or `nil` for a whole state.
    ///   - approximate: Whether the counts were derived from densities rather than counted.
    /// - Returns: What was done.
    /// - Throws: ``StoreError`` (``StoreError/conflictingState(run:step:rank:)``,
    ///   ``StoreError/rankRequired(run:worldSize:)``, ``StoreError/worldSizeMismatch(run:worldSize:given:)``,
    ///   ``StoreError/rankStepCompleted(run:step:rank:latest:)`` and every error of
    ///   ``appendCheckpoint(run:step:state:approximate:)``); nothing is stored then.
    @discardableResult
    public func record(
        run name: String, step: Int64, state: DensityState, rank: (rank: Int, worldSize: Int)? = nil,
        approximate: Bool = false
    ) throws -> RecordOutcome {
        let (outcome, written) = try withConnection { db in
            try db.inTransaction(.immediate) { () throws -> (RecordOutcome, LatestStateCache?) in
                var run = try Self.requireRun(db, name)
                if let rank {
                    guard (1...Self.maxWorldSize).contains(rank.worldSize) else {
                        throw StoreError.settingOutOfRange(.worldSize, value: String(rank.worldSize), expected: "1 to \(Self.maxWorldSize)")
                    }
                    guard (0..<rank.worldSize).contains(rank.rank) else {
                        throw StoreError.settingOutOfRange(.rank, value: String(rank.rank),
                                                           expected: "0 to \(rank.worldSize - 1) for a world size of \(rank.worldSize)")
                    }
                    if run.worldSize != rank.worldSize {
                        let used = try db.queryFirst(
                            "SELECT EXISTS (SELECT 1 FROM checkpoints WHERE run_id = ?1) OR EXISTS (SELECT 1 FROM rank_states WHERE run_id = ?1)",
                            [.integer(run.id)]) { $0.int(0) } ?? 1
                        guard used == 0 else {
                            throw StoreError.worldSizeMismatch(run: name, worldSize: run.worldSize, given: rank.worldSize)
                        }
                        try db.execute("UPDATE runs SET world_size = ? WHERE id = ?", [.integer(Int64(rank.worldSize)), .integer(run.id)])
                        run = try Self.requireRun(db, name)
                    }
                }
                if let rank, run.worldSize > 1 {
                    try holdWriterLock(run, rank: rank.rank)
                    return try recordRank(db, run, step: step, rank: rank.rank, state: state)
                }
                guard run.worldSize == 1 else { throw StoreError.rankRequired(run: name, worldSize: run.worldSize) }
                if try Self.isStored(db, run, step: step, state: state, approximate: approximate) {
                    return (RecordOutcome(step: step, rank: rank?.rank, alreadyStored: true, completed: [], pending: []), nil)
                }
                let (checkpoint, cache) = try insertCheckpoint(db, run, step: step, state: state, approximate: approximate)
                return (RecordOutcome(step: step, rank: rank?.rank, alreadyStored: false, completed: [checkpoint], pending: []), cache)
            }
        }
        if let written { latestWritten.withLock { $0 = written } }  // only once the transaction has committed
        return outcome
    }

    /// Encodes a whole state's checkpoint ahead of its transaction, against the checkpoint it is
    /// expected to follow (which may still be committing): the chunks and summary that
    /// ``commit(_:)`` writes without encoding. Uses neither the connection nor the store's lock,
    /// so it runs while another thread commits through this store.
    ///
    /// A delta while `basis`'s chain has room (its depth + 1 below the run's keyframe interval),
    /// else a keyframe. The chunks are encoded on every core; each delta chunk flags a count below
    /// the basis's or grown by more than the vectors added, and a keyframe is checked against the
    /// basis in full, so a state that does not follow is never committed as prepared.
    /// - Parameters:
    ///   - run: The run, as ``run(named:)`` returned it.
    ///   - step: The training step.
    ///   - state: The cumulative state.
    ///   - basis: The checkpoint expected to be the run's latest when this one is committed.
    /// - Returns: The prepared checkpoint, or `nil` when the state is not of the run's shape or is
    ///   past the supported range: ``record(run:step:state:rank:approximate:)`` then names what
    ///   is wrong.
    public func prepareCheckpoint(run: Run, step: Int64, state: DensityState, after basis: PreparedCheckpoint.Basis)
        -> PreparedCheckpoint?
    {
        guard run.worldSize == 1, step > basis.step, state.features == run.features, state.components == run.components,
              StoreLimits.rangeViolation(vectors: state.vectors, nonFinite: state.nonFinite) == nil
        else { return nil }
        let depth = basis.deltaDepth + 1 < run.keyframeInterval ? basis.deltaDepth + 1 : 0
        let previous = depth > 0 ? basis.state : nil
        var violates = state.vectors < basis.state.vectors || state.nonFinite < basis.state.nonFinite
        if previous == nil, !violates {
            violates = (try? state.requireFollows(basis.state)) == nil
        }
        let layout = Self.chunkLayout(run)
        let added = state.vectors - basis.state.vectors
        var chunks: [ChunkCodec.Encoded] = []
        chunks.reserveCapacity(layout.count)
        // Nothing here throws: the encoder's only errors are those of `consume`.
        guard let summary = try? Self.encodeChunks(layout, state: state, previous: previous, zstd: Zstd(),
                                                   summarize: true, consume: { _, chunk in
            if chunk.decreased || chunk.largestDelta > added { violates = true }
            chunks.append(chunk)
        }) else { return nil }
        return PreparedCheckpoint(run: run, step: step, state: state, basis: basis, deltaDepth: depth, chunks: chunks,
                                  summary: summary, violatesBasis: violates)
    }

    /// Writes a checkpoint encoded by ``prepareCheckpoint(run:step:state:after:)`` in a
    /// transaction of its own, durable as ``record(run:step:state:rank:approximate:)``'s: when
    /// this returns an outcome, the checkpoint is committed (and synced, with `durable` on).
    ///
    /// It is written only if, under the run's writer lock and the write transaction, the run and
    /// its settings are unchanged, its latest checkpoint is the prepared one's basis (same step,
    /// vectors, non-finite count and depth) and the last one this store wrote, with that very
    /// state, and no other connection has committed since (so its blobs are the ones written).
    /// Otherwise nothing is written and this returns `nil`: the caller records the state the
    /// ordinary way, which reads the latest checkpoint back and names any fault.
    /// - Parameter prepared: The prepared checkpoint.
    /// - Returns: What was done, or `nil` when the prepared checkpoint no longer applies.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, ``WriterLockError``, ``SQLiteError`` (disk
    ///   full, I/O); nothing is stored then.
    public func commit(_ prepared: PreparedCheckpoint) throws -> RecordOutcome? {
        let basis = prepared.basis
        let written = try withConnection { db in
            try db.inTransaction(.immediate) { () throws -> LatestStateCache? in
                let run = try Self.requireRun(db, prepared.run.name)
                guard run == prepared.run, !prepared.violatesBasis else { return nil }
                try holdWriterLock(run)
                guard let latest = try Self.latestCheckpoint(db, run),
                      latest.step == basis.step, latest.deltaDepth == basis.deltaDepth,
                      latest.vectors == basis.state.vectors, latest.nonFinite == basis.state.nonFinite,
                      let cached = latestWritten.withLock({ $0 }), cached.runID == run.id, cached.checkpoint == latest,
                      cached.state == basis.state  // the same array, compared by identity first
                else { return nil }
                guard try cached.isCurrent(db) else {
                    latestWritten.withLock { $0 = nil }
                    return nil
                }
                let checkpointID = try Self.insertCheckpointRow(db, run, step: prepared.step, state: prepared.state,
                                                                deltaDepth: prepared.deltaDepth, approximate: false)
                let insert = try ChunkInserter(db, checkpointID: checkpointID, layout: Self.chunkLayout(run))
                for (index, chunk) in prepared.chunks.enumerated() { try insert(index, chunk) }
                try Self.writeSummary(db, checkpointID: checkpointID, prepared.summary)
                let checkpoint = try Self.checkpoint(db, run, step: prepared.step)!
                return LatestStateCache(runID: run.id, checkpoint: checkpoint, dataVersion: try Self.dataVersion(db),
                                        state: prepared.state)
            }
        }
        guard let written else { return nil }
        latestWritten.withLock { $0 = written }  // only once the transaction has committed
        return RecordOutcome(step: prepared.step, rank: nil, alreadyStored: false, completed: [written.checkpoint], pending: [])
    }

    /// Stores one rank's partial state and turns every step that is now complete into a checkpoint.
    func recordRank(_ db: Connection, _ run: Run, step: Int64, rank: Int, state: DensityState)
        throws -> (RecordOutcome, LatestStateCache?)
    {
        try Self.checkStep(step)
        guard state.features == run.features, state.components == run.components else {
            throw StoreError.shapeMismatch(run: run.name, expected: run.describeShape, actual: state.describeShape)
        }
        try Self.requireSupportedRange(run, step: step, state)
        let encoded = state.counts.withUnsafeBufferPointer { ChunkCodec.encode($0, previous: nil, zstd: Zstd()) }
        let existing = try db.queryFirst(
            "SELECT vectors, non_finite, checksum FROM rank_states WHERE run_id = ? AND step = ? AND rank = ?",
            [.integer(run.id), .integer(step), .integer(Int64(rank))]) { ($0.int64(0), $0.int64(1), $0.int64(2)) }
        if let existing {
            guard existing == (state.vectors, state.nonFinite, Int64(encoded.checksum)) else {
                throw StoreError.conflictingState(run: run.name, step: step, rank: rank)
            }
            return (RecordOutcome(step: step, rank: rank, alreadyStored: true, completed: [],
                                  pending: try Self.pendingSteps(db, run)), nil)
        }
        if let latest = try Self.latestCheckpoint(db, run), step <= latest.step {
            throw StoreError.rankStepCompleted(run: run.name, step: step, rank: rank, latest: latest.step)
        }
        // The rank's own history: its state must follow its previous pending one. A completed
        // step is not compared with: after a restart the documented resume puts the stored sum
        // into rank 0 and zeros into the others, so a rank may fall below what it wrote before;
        // only the sum is a metric state, and it is held to the invariant when the step completes.
        let before = try db.prepare("""
            SELECT step, rank, vectors, non_finite, encoding, checksum, data FROM rank_states
            WHERE run_id = ? AND rank = ? AND step < ? ORDER BY step DESC LIMIT 1
            """)
        try before.bind([.integer(run.id), .integer(Int64(rank)), .integer(step)])
        if try before.step() {
            let previousStep = before.int64(0)
            if !before.isNull(6) {
                let previous = try Self.decodeRankState(before, run: run, step: previousStep, rank: rank, zstd: Zstd())
                try Self.requireWritable(run, (step, state), after: (previousStep, previous), rank: rank)
            }
        }
        try db.execute("""
            INSERT INTO rank_states (run_id, step, rank, vectors, non_finite, encoding, checksum, data)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(run.id), .integer(step), .integer(Int64(rank)), .integer(state.vectors),
                  .integer(state.nonFinite), .integer(encoded.encoding.rawValue), .integer(Int64(encoded.checksum)),
                  .blob(encoded.data)])
        var completed: [Checkpoint] = []
        var cache: LatestStateCache?
        // Promote complete steps in step order; the first incomplete one holds back the later ones.
        while let pending = try Self.pendingSteps(db, run).first, pending.ranks.count == run.worldSize {
            var sum = try DensityState(features: run.features, components: run.components)
            let statement = try db.prepare("""
                SELECT step, rank, vectors, non_finite, encoding, checksum, data FROM rank_states
                WHERE run_id = ? AND step = ? AND data IS NOT NULL ORDER BY rank
                """)
            try statement.bind([.integer(run.id), .integer(pending.step)])
            let zstd = Zstd()
            while try statement.step() {
                let rankState = try Self.decodeRankState(statement, run: run, step: pending.step, rank: statement.int(1), zstd: zstd)
                do {
                    sum = try sum.merged(with: rankState)
                } catch DensityError.countOverflow(let detail) {
                    throw StoreError.beyondSupportedRange(
                        run: run.name, step: pending.step,
                        detail: "the sum of the ranks' states is beyond what a store holds (the supported range is 0 to 2^62 (\(StoreLimits.maxCount))): \(detail)")
                }
            }
            let (checkpoint, written) = try insertCheckpoint(db, run, step: pending.step, state: sum, approximate: false)
            try db.execute("UPDATE rank_states SET data = NULL WHERE run_id = ? AND step = ?",
                           [.integer(run.id), .integer(pending.step)])
            completed.append(checkpoint)
            cache = written
        }
        return (RecordOutcome(step: step, rank: rank, alreadyStored: false, completed: completed,
                              pending: try Self.pendingSteps(db, run)), cache)
    }

    /// Whether the run already has exactly this checkpoint at `step` (`false` when it has none there).
    /// - Throws: ``StoreError/conflictingState(run:step:rank:)`` when the checkpoint there differs.
    static func isStored(_ db: Connection, _ run: Run, step: Int64, state: DensityState, approximate: Bool) throws -> Bool {
        guard let existing = try checkpoint(db, run, step: step) else { return false }
        guard existing.approximate == approximate, try readState(db, run, existing) == state else {
            throw StoreError.conflictingState(run: run.name, step: step, rank: nil)
        }
        return true
    }

    /// The run's pending steps: rank states not yet part of a checkpoint, grouped by step.
    static func pendingSteps(_ db: Connection, _ run: Run) throws -> [PendingStep] {
        var byStep: [(Int64, [Int])] = []
        for (step, rank) in try db.query(
            "SELECT step, rank FROM rank_states WHERE run_id = ? AND data IS NOT NULL ORDER BY step, rank",
            [.integer(run.id)], row: { ($0.int64(0), $0.int(1)) })
        {
            if byStep.last?.0 == step { byStep[byStep.count - 1].1.append(rank) } else { byStep.append((step, [rank])) }
        }
        return byStep.map { PendingStep(step: $0.0, ranks: $0.1, worldSize: run.worldSize) }
    }

    /// Decodes the rank state in the current row: columns 2 (vectors), 3 (non-finite),
    /// 4 (encoding), 5 (checksum), 6 (data).
    static func decodeRankState(_ row: Statement, run: Run, step: Int64, rank: Int, zstd: Zstd) throws -> DensityState {
        var counts = [Int64](repeating: 0, count: (run.components ?? 1) * run.features)
        do {
            try counts.withUnsafeMutableBufferPointer { output in
                try row.withBlob(6) { blob in
                    try ChunkCodec.decode(encoding: row.int64(4), blob: blob, checksum: row.int64(5), into: output, zstd: zstd)
                }
            }
            return try DensityState(features: run.features, components: run.components, counts: counts,
                                    vectors: row.int64(2), nonFinite: row.int64(3))
        } catch let error as ChunkCodec.DecodeError {
            throw StoreError.corruptChunk(run: run.name, step: step, component: 0, chunk: 0,
                                          reason: "rank \(rank)'s partial state: \(error.reason)")
        } catch let error as DensityError {
            throw StoreError.corruptChunk(run: run.name, step: step, component: 0, chunk: 0,
                                          reason: "rank \(rank)'s partial state is inconsistent: \(error)")
        }
    }
}
