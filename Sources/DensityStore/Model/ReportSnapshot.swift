public import DensityMetric

/// What `density report` draws, read in one transaction (``DensityStore/report(run:from:to:features:top:)``):
/// every checkpoint's summary, the window the default features are picked from with its risers,
/// fallers and most recently dead, and the trends of the features drawn. One committed state of the
/// run, whatever another process appends, compacts or rewinds meanwhile.
public struct ReportSnapshot: Sendable {
    /// The run.
    public let run: Run
    /// Every checkpoint of the run with its summary, in step order (as ``DensityStore/summaries(run:)``).
    public let summaries: [(checkpoint: Checkpoint, summary: DensitySummary)]
    /// The first step shown: the checkpoint `from` names, or the first.
    public let lower: Int64
    /// The last step shown: the checkpoint `to` names, or the latest.
    public let upper: Int64
    /// The risers, fallers and most recently dead of the last quarter of the checkpoints shown
    /// (``DensityStore/movers(run:window:top:recentlyDead:)``); `nil` when features were given or
    /// fewer than two checkpoints are shown.
    public let movers: WindowMovers?
    /// Each drawn feature's cumulative count at every checkpoint (as ``DensityStore/trend(run:feature:component:)``),
    /// by flat index `component * features + feature`: the features given, or else the risers,
    /// fallers and most recently dead when the previous window holds vectors.
    public let trends: [Int: [TrendPoint]]

    /// The checkpoints shown (from ``lower`` to ``upper``) with their summaries; empty when `from`
    /// names a checkpoint after `to`'s.
    public var shown: [(checkpoint: Checkpoint, summary: DensitySummary)] {
        summaries.filter { (lower...max(lower, upper)).contains($0.checkpoint.step) }
    }
}
