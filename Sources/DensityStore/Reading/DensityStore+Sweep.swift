public import DensityMetric

// MARK: - The sweep table

extension DensityStore {
    /// ``StoreSnapshot/sweep()`` inside the caller's transaction.
    static func sweep(_ db: Connection) throws -> [SweepRow] {
        let runs = try db.query("SELECT \(Self.runColumns) FROM runs ORDER BY name", row: Self.readRun)
        return try runs.map { run in
            let pending = try db.queryFirst(
                "SELECT count(DISTINCT step) FROM rank_states WHERE run_id = ? AND data IS NOT NULL",
                [.integer(run.id)]) { $0.int(0) } ?? 0
            let points = try db.query("""
                SELECT c.step, c.vectors, s.dead, s.dense
                FROM checkpoints c LEFT JOIN checkpoint_summaries s ON s.checkpoint_id = c.id
                WHERE c.run_id = ? ORDER BY c.step
                """, [.integer(run.id)]) { row in
                SweepRow.Point(step: row.int64(0), vectors: row.int64(1),
                               dead: row.isNull(2) ? nil : row.int(2), dense: row.isNull(3) ? nil : row.int(3))
            }
            let first = try db.queryFirst(
                "SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step LIMIT 1",
                [.integer(run.id)], row: readCheckpoint)
            let latest = try latestCheckpoint(db, run)
            return SweepRow(run: run, checkpointCount: points.count, pendingSteps: pending, first: first, latest: latest,
                            summary: try latest.flatMap { try Self.storedSummary(db, run, $0) }, points: points)
        }
    }
}

extension StoreSnapshot {
    /// Every run, by name, with its latest checkpoint's stored summary and every checkpoint's dead
    /// and dense counts: what the sweep table shows, from the stored summaries (no counts are
    /// decoded).
    /// - Returns: One row per run.
    /// - Throws: A ``StoreError`` when the store cannot be read.
    public func sweep() throws -> [SweepRow] {
        try DensityStore.sweep(db)
    }

    /// What the store says of itself when it is a mirror (``StoreMirror``): its source and the
    /// time of its snapshot; `nil` for a store.
    /// - Throws: A ``StoreError`` when the store cannot be read.
    public func mirrorOrigin() throws -> MirrorOrigin? {
        try StoreMirror.origin(of: db)
    }
}
