public import DensityMetric

/// One run as the sweep table shows it, read from the stored summaries without decoding counts:
/// what ``DensityStore/sweep()`` returns.
public struct SweepRow: Sendable, Hashable {
    /// One checkpoint's health, from its stored summary.
    public struct Point: Sendable, Hashable {
        /// The training step.
        public let step: Int64
        /// Cumulative vectors seen.
        public let vectors: Int64
        /// Features (component, feature pairs) that never fired, or `nil` when the checkpoint has
        /// no stored summary (written before summaries were kept).
        public let dead: Int?
        /// Features with density >= 1e-2, or `nil` as for ``dead``.
        public let dense: Int?
    }

    /// The run, with its meta (``Run/metadata``).
    public let run: Run
    /// How many checkpoints it has.
    public let checkpointCount: Int
    /// How many steps some but not all of its ranks have written (0 for a run of one rank).
    public let pendingSteps: Int
    /// Its first checkpoint, if any.
    public let first: Checkpoint?
    /// Its latest checkpoint, if any.
    public let latest: Checkpoint?
    /// The latest checkpoint's stored summary, or `nil` without a checkpoint or a stored summary.
    public let summary: DensitySummary?
    /// Every checkpoint's dead and dense counts, oldest first.
    public let points: [Point]

    /// The number of (component, feature) pairs.
    public var width: Int { (run.components ?? 1) * run.features }

    /// `count` (component, feature) pairs as a fraction of the run's: how dead and dense features
    /// compare across runs of different widths.
    public func fraction(_ count: Int) -> Double { Double(count) / Double(width) }

    /// The mean over every (component, feature) of `log10(density + 1e-10)`, from the stored
    /// 50-bin histogram: dead features at -10 exactly, every other at its bin's middle (within
    /// 0.1 of the exact mean). `nil` without a summary or a vector.
    public var meanLog10Density: Double? {
        summary?.binnedMeanLog10Density
    }

    /// Creates a row.
    /// - Parameters: As the properties.
    public init(run: Run, checkpointCount: Int, pendingSteps: Int, first: Checkpoint?, latest: Checkpoint?,
                summary: DensitySummary?, points: [Point]) {
        self.run = run
        self.checkpointCount = checkpointCount
        self.pendingSteps = pendingSteps
        self.first = first
        self.latest = latest
        self.summary = summary
        self.points = points
    }
}
