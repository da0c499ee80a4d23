public import DensityMetric

extension DensityStore {
    /// Every checkpoint's stored summary (or one computed from its counts when it has none), in
    /// step order, inside the caller's transaction (``StoreSnapshot/summaries(run:)``).
    static func summaries(_ db: Connection, _ run: Run) throws -> [(checkpoint: Checkpoint, summary: DensitySummary)] {
        try checkpoints(db, run).map { ($0, try summary(db, run, $0)) }
    }
}
