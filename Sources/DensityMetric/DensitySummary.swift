#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#else
internal import Darwin
#endif

/// The few numbers that say whether a run is healthy, computed from one state (cumulative or a
/// window): vectors, mean density, dead and dense feature counts, and the log10-density histogram.
public struct DensitySummary: Sendable, Hashable, Codable {
    /// A feature is dense when its density is at least this (log10 density >= -2), as in the field.
    public static let defaultDenseThreshold = 1e-2
    /// `log10(density + histogramEpsilon)` is what the histogram bins (SAELens' convention).
    public static let histogramEpsilon = 1e-10
    /// The histogram's range: bins of equal width over `[histogramLow, histogramHigh]`.
    public static let histogramLow = -10.0
    /// The upper end of the histogram's range: log10 of density 1.
    public static let histogramHigh = 0.0

    /// Activation vectors seen.
    public let vectors: Int64
    /// (component, feature) pairs counted: components x features.
    public let width: Int
    /// The sum of every count, exact (it can pass `Int64.max`: 2^30 counts of up to 2^62 each).
    public let firedTotal: Int128
    /// Features (per component) whose count is 0.
    public let dead: Int
    /// Features (per component) whose density is at least the dense threshold.
    public let dense: Int
    /// Non-finite activations seen.
    public let nonFinite: Int64
    /// Counts of `log10(density + 1e-10)` in ``histogramBins`` equal bins over [-10, 0]; the first
    /// bin holds the dead features.
    public let histogram: [Int]

    /// The mean of every feature's density: firedTotal / (vectors x width); NaN with no vectors.
    public var meanDensity: Double { Double(firedTotal) / (Double(vectors) * Double(width)) }

    /// The number of histogram bins.
    public var histogramBins: Int { histogram.count }

    /// A summary from stored values.
    /// - Parameters:
    ///   - vectors: Activation vectors seen.
    ///   - width: Components x features.
    ///   - firedTotal: The sum of every count.
    ///   - dead: Pairs with count 0.
    ///   - dense: Pairs at or above the dense threshold.
    ///   - nonFinite: Non-finite activations seen.
    ///   - histogram: Bin counts over [-10, 0].
    public init(vectors: Int64, width: Int, firedTotal: Int128, dead: Int, dense: Int, nonFinite: Int64, histogram: [Int]) {
        self.vectors = vectors
        self.width = width
        self.firedTotal = firedTotal
        self.dead = dead
        self.dense = dense
        self.nonFinite = nonFinite
        self.histogram = histogram
    }

    /// The number of bins stored with every checkpoint: 0.2 wide over [-10, 0].
    public static let storedBins = 50

    /// Summarizes a state.
    /// - Parameters:
    ///   - state: A cumulative or window state.
    ///   - denseThreshold: The density at which a feature counts as dense.
    ///   - bins: The number of histogram bins over [-10, 0].
    public init(_ state: DensityState, denseThreshold: Double = defaultDenseThreshold, bins: Int = storedBins) {
        let builder = Builder(vectors: state.vectors, width: state.counts.count, nonFinite: state.nonFinite,
                              denseThreshold: denseThreshold, bins: bins)
        self = builder.summary(state.counts.withUnsafeBufferPointer { [builder.tally($0)] })
    }

    /// The smallest count in `0...limit` for which `reaches` holds (it must be monotonic), or
    /// `Int64.max` when none does.
    static func smallestCount(upTo limit: Int64, _ reaches: (Int64) -> Bool) -> Int64 {
        guard limit > 0 else { return reaches(0) ? 0 : .max }
        guard reaches(limit) else { return .max }
        var low: Int64 = 0, high = limit
        while low < high {
            let middle = low + (high - low) / 2
            if reaches(middle) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The histogram bin of a density: `log10(density + 1e-10)` clamped into [-10, 0].
    /// - Parameters:
    ///   - density: A density in [0, 1] (NaN goes to the first bin).
    ///   - bins: The number of bins.
    /// - Returns: The bin index in `0..<bins`.
    public static func bin(ofDensity density: Double, bins: Int) -> Int {
        let value = log10(density + histogramEpsilon)
        guard value.isFinite else { return 0 }
        let position = (value - histogramLow) / (histogramHigh - histogramLow) * Double(bins)
        return min(bins - 1, max(0, Int(position.rounded(.down))))
    }

    /// The lower edge of a histogram bin, in log10 density: one division of whole numbers, so that
    /// an edge is the double nearest its decimal value (-2.6, not -2.5999999999999996), and prints
    /// as that decimal. A label only: ``bin(ofDensity:bins:)`` and the stored histograms decide
    /// which bin holds a value.
    /// - Parameters:
    ///   - index: The bin (`bins` for the upper edge of the last).
    ///   - bins: The number of bins.
    public static func binLowerEdge(_ index: Int, bins: Int) -> Double {
        (histogramLow * Double(bins - index) + histogramHigh * Double(index)) / Double(bins)
    }
}
