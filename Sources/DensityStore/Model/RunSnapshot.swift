public import DensityMetric

/// A run's stored summary at one checkpoint, as ``StoreSnapshot/overview(run:at:)`` and
/// ``StoreSnapshot/compare(_:_:at:)`` read it.
public struct RunSnapshot: Sendable, Hashable {
    /// The run.
    public let run: Run
    /// The checkpoint read: the run's latest at or before the step asked for.
    public let checkpoint: Checkpoint
    /// The checkpoint's cumulative summary: vectors, mean density, dead, dense (>= 1e-2),
    /// non-finite, and the 50-bin histogram of log10(density + 1e-10).
    public let summary: DensitySummary
    /// The steps of a distributed run still waiting for some of its ranks (empty for one rank).
    public let pending: [PendingStep]

    /// Bounds on the median over every (component, feature) of `log10(density + 1e-10)`, read
    /// from the histogram without decoding counts: from the lower edge of the bin holding the lower
    /// middle value to the upper edge of the bin holding the upper middle value (one bin, 0.2 wide,
    /// unless the two middle values fall in different bins). Dead features sit at -10, and
    /// a density of 1 at 0 (its value, 4.3e-11, is binned with the top bin). `nil` when no vector
    /// was seen (every density is 0/0).
    public var medianLog10Density: ClosedRange<Double>? {
        let histogram = summary.histogram
        let total = histogram.reduce(0, +)
        guard summary.vectors > 0, total > 0 else { return nil }
        func bin(ofRank rank: Int) -> Int {  // rank is 1-based, in increasing order
            var seen = 0
            for (index, count) in histogram.enumerated() {
                seen += count
                if seen >= rank { return index }
            }
            return histogram.count - 1
        }
        let low = bin(ofRank: (total + 1) / 2), high = bin(ofRank: total / 2 + 1)
        return DensitySummary.binLowerEdge(low, bins: histogram.count)...DensitySummary.binLowerEdge(high + 1, bins: histogram.count)
    }
}
