public import DensityMetric

extension DensityStore {
    /// Calls `body` with the exact cumulative state at every checkpoint of a run, in step order,
    /// decoding each checkpoint once (a keyframe sets the counts, a delta adds to them).
    ///
    /// The whole pass runs in one read transaction: it sees one consistent history even while
    /// another process appends checkpoints.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - from: The first step to report (earlier checkpoints are decoded but not reported);
    ///     `nil` for the first checkpoint.
    ///   - to: The last step to report; `nil` for the latest.
    ///   - body: Called with each checkpoint and its state; return `false` to stop early.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a damaged-chunk error, or what `body` throws.
    public func forEachState(
        run name: String, from: Int64? = nil, to: Int64? = nil,
        _ body: sending (Checkpoint, DensityState) throws -> Bool
    ) throws {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                let upper = to ?? .max
                // Start at the keyframe of the first reported checkpoint, not at the run's start.
                var start: Int64 = .min
                if let from, let first = try Self.checkpoint(db, run, atOrBefore: from) ?? Self.firstCheckpoint(db, run) {
                    start = try Self.chain(db, run, to: first).first?.step ?? .min
                }
                let checkpoints = try db.query(
                    "SELECT \(Self.checkpointColumns) FROM checkpoints WHERE run_id = ? AND step >= ? AND step <= ? ORDER BY step",
                    [.integer(run.id), .integer(start), .integer(upper)], row: Self.readCheckpoint)
                let zstd = Zstd()
                var counts = [Int64](repeating: 0, count: (run.components ?? 1) * run.features)
                var previous: Checkpoint?
                var cursor = DeltaChain.Cursor(run, checkpoints)
                while let checkpoint = try cursor.next() {
                    // Each checkpoint is checked to follow the one before (a history read from a
                    // keyframe has none before its first).
                    try Self.apply(db, run, checkpoint, to: &counts, zstd: zstd, after: previous)
                    previous = checkpoint
                    let state: DensityState
                    do {
                        state = try DensityState(features: run.features, components: run.components, counts: counts,
                                                 vectors: checkpoint.vectors, nonFinite: checkpoint.nonFinite)
                    } catch {
                        throw StoreError.corruptChunk(run: name, step: checkpoint.step, component: 0, chunk: 0,
                                                      reason: "stored counts are inconsistent: \(error)")
                    }
                    if let from, checkpoint.step < from { continue }
                    guard try body(checkpoint, state) else { return }
                }
            }
        }
    }

    /// Every checkpoint's stored summary (or one computed from its counts when it has none), in
    /// step order: what run-level pictures need, without decoding counts.
    /// - Parameter name: The run's name.
    /// - Returns: One (checkpoint, summary) per checkpoint.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, or a damaged-chunk error when decoding.
    public func summaries(run name: String) throws -> [(checkpoint: Checkpoint, summary: DensitySummary)] {
        try withConnection { db in
            try db.inTransaction(.deferred) { try Self.summaries(db, try Self.requireRun(db, name)) }
        }
    }

    /// ``summaries(run:)`` inside the caller's transaction.
    static func summaries(_ db: Connection, _ run: Run) throws -> [(checkpoint: Checkpoint, summary: DensitySummary)] {
        let checkpoints = try db.query("SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                                       [.integer(run.id)], row: readCheckpoint)
        return try checkpoints.map { checkpoint in
            if let stored = try storedSummary(db, run, checkpoint) { return (checkpoint, stored) }
            return (checkpoint, DensitySummary(try readState(db, run, checkpoint)))
        }
    }
}
