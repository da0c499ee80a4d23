extension DensitySummary {
    /// Summarizes a state piece by piece: each piece of its counts is tallied on its own (on any
    /// thread, in any order, e.g. while each chunk is encoded and still in cache), then the tallies
    /// are added up. The result equals ``DensitySummary/init(_:denseThreshold:bins:)``.
    package struct Builder: Sendable {
        let vectors: Int64
        let width: Int
        let nonFinite: Int64
        let bins: Int
        let lookup: BinLookup

        /// - Parameters:
        ///   - vectors: The state's vectors.
        ///   - width: How many counts the state has in all.
        ///   - nonFinite: The state's non-finite count.
        ///   - denseThreshold: The density at which a feature counts as dense.
        ///   - bins: The number of histogram bins over [-10, 0].
        package init(vectors: Int64, width: Int, nonFinite: Int64,
                     denseThreshold: Double = DensitySummary.defaultDenseThreshold, bins: Int = DensitySummary.storedBins) {
            let bins = max(1, bins)
            self.vectors = vectors
            self.width = width
            self.nonFinite = nonFinite
            self.bins = bins
            // Every decision depends on the count alone (the vectors are shared), and
            // monotonically: so find, once, the smallest count that reaches each bin and the dense
            // threshold, using the exact per-density rules, and then compare integers. A million
            // features cost a million integer comparisons instead of a million logarithms, with
            // the same result.
            let n = vectors
            let firstCountOfBin = (0..<bins).map { bin in
                DensitySummary.smallestCount(upTo: n) { DensitySummary.bin(ofDensity: Double($0) / Double(n), bins: bins) >= bin }
            }
            let firstDenseCount = DensitySummary.smallestCount(upTo: n) { Double($0) / Double(n) >= denseThreshold }
            lookup = BinLookup(firstCountOfBin: firstCountOfBin, maxCount: n, denseFrom: firstDenseCount)
        }

        /// The tally of one piece of the counts.
        package func tally(_ counts: UnsafeBufferPointer<Int64>) -> Tally {
            var tally = Tally(histogram: [Int](repeating: 0, count: bins))
            (tally.fired, tally.dead, tally.dense) = tally.histogram.withUnsafeMutableBufferPointer {
                lookup.tally(counts, into: $0)
            }
            return tally
        }

        /// The summary of the whole state from the tallies of all its pieces.
        package func summary(_ tallies: [Tally]) -> DensitySummary {
            var histogram = [Int](repeating: 0, count: bins)
            var fired: Int128 = 0, dead = 0, dense = 0
            for tally in tallies {
                fired += tally.fired
                dead &+= tally.dead
                dense &+= tally.dense
                for bin in 0..<bins { histogram[bin] &+= tally.histogram[bin] }
            }
            return DensitySummary(vectors: vectors, width: width, firedTotal: fired, dead: dead, dense: dense,
                                  nonFinite: nonFinite, histogram: histogram)
        }
    }

    /// What one piece of a state's counts adds to its summary.
    package struct Tally: Sendable {
        /// The sum of the counts, exact: 2^30 counts of up to 2^63 - 1 fit 128 bits.
        var fired: Int128 = 0
        /// Counts of 0.
        var dead = 0
        /// Counts at or above the dense threshold.
        var dense = 0
        /// Counts per histogram bin.
        var histogram: [Int]
    }
}
