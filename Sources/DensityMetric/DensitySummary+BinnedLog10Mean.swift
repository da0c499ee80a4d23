extension DensitySummary {
    /// The mean over every (component, feature) of `log10(density + 1e-10)` (SAELens'
    /// `metrics/mean_log10_feature_sparsity`), from the histogram alone: dead features at -10
    /// exactly, every other one at its bin's midpoint, so within half a bin's width (0.1 with the
    /// 50 stored bins) of the exact mean. `nil` with no vectors (no densities).
    public var binnedMeanLog10Density: Double? {
        guard vectors > 0, width > 0, !histogram.isEmpty else { return nil }
        let bins = histogram.count
        var sum = Double(dead) * Self.histogramLow
        for (index, count) in histogram.enumerated() {
            let living = index == 0 ? count - dead : count
            let middle = (Self.binLowerEdge(index, bins: bins) + Self.binLowerEdge(index + 1, bins: bins)) / 2
            sum += Double(living) * middle
        }
        return sum / Double(width)
    }
}
