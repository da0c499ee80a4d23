public import DensityMetric

extension DensityStore {
    /// Every checkpoint's stored summary (or one computed from its counts when it has none), in
    /// step order, inside the caller's transaction (``StoreSnapshot/summaries(run:)``).
    static func summaries(_ db: Connection, _ run: Run) throws -> [(checkpoint: Checkpoint, summary: DensitySummary)] {
        try checkpoints(db, run).map { ($0, try summary(db, run, $0)) }
    }

    /// Calls `body` with every checkpoint of a run and its whole state, oldest first, inside the
    /// caller's transaction (``StoreSnapshot/forEachState(run:_:)``); one state is held at a time.
    static func forEachState(_ db: Connection, _ run: Run, _ body: (Checkpoint, DensityState) throws -> Void) throws {
        let checkpoints = try checkpoints(db, run)
        let zstd = Zstd()
        var counts = [Int64](repeating: 0, count: (run.components ?? 1) * run.features)
        var cursor = DeltaChain.Cursor(run, checkpoints)
        while let checkpoint = try cursor.next() {
            // Each checkpoint is checked to follow the one before as its chunks are applied.
            try apply(db, run, checkpoint, to: &counts, zstd: zstd, checkedBy: cursor)
            let state: DensityState
            do {
                state = try DensityState(features: run.features, components: run.components, counts: counts,
                                         vectors: checkpoint.vectors, nonFinite: checkpoint.nonFinite)
            } catch {
                throw StoreError.corruptChunk(run: run.name, step: checkpoint.step, component: 0, chunk: 0,
                                              reason: "stored counts are inconsistent: \(error)")
            }
            try body(checkpoint, state)
        }
    }
}
