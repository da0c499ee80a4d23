extension DensitySummary {
    /// Summarizes a state piece by piece: each piece of its counts is tallied on its own (on any
    /// thread, in any order, e.g. while each chunk is encoded and still in cache), then the tallies
    /// are added up. The result equals ``DensitySummary/init(_:denseThreshold:bins:)``.
    package struct Builder: Sendable {
        let vectors: Int64
        let width: Int
        let nonFinite: Int64
        let bins: Int
        let firstDenseCount: Int64
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
            firstDenseCount = DensitySummary.smallestCount(upTo: n) { Double($0) / Double(n) >= denseThreshold }
            lookup = BinLookup(firstCountOfBin: firstCountOfBin, maxCount: n)
        }

        /// The tally of one piece of the counts.
        package func tally(_ counts: UnsafeBufferPointer<Int64>) -> Tally {
            var tally = Tally(histogram: [Int](repeating: 0, count: bins))
            // The sum, zeros and dense counts eight lanes at a time. The sum is exact: each count's
            // high and low 32 bits are added in lanes of their own (2^27 additions of values below
            // 2^32 fit a lane, and a state holds at most 2^30 counts), and joined in 128 bits.
            let zero = SIMD8<Int64>(), one = SIMD8<Int64>(repeating: 1), dense = SIMD8<Int64>(repeating: firstDenseCount)
            let low32 = SIMD8<Int64>(repeating: 0xFFFF_FFFF)
            var highLanes = zero, lowLanes = zero, deadLanes = zero, denseLanes = zero
            var i = 0
            if let base = counts.baseAddress {
                let raw = UnsafeRawPointer(base)
                while i + 8 <= counts.count {
                    let lanes = raw.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Int64>.self)
                    highLanes &+= lanes &>> 32
                    lowLanes &+= lanes & low32
                    deadLanes &+= zero.replacing(with: one, where: lanes .== zero)
                    denseLanes &+= zero.replacing(with: one, where: lanes .>= dense)
                    i += 8
                }
            }
            tally.fired = Int128(highLanes.wrappedSum()) << 32 + Int128(lowLanes.wrappedSum())
            tally.dead = Int(deadLanes.wrappedSum())
            tally.dense = Int(denseLanes.wrappedSum())
            while i < counts.count {
                tally.fired += Int128(counts[i])
                tally.dead &+= counts[i] == 0 ? 1 : 0
                tally.dense &+= counts[i] >= firstDenseCount ? 1 : 0
                i += 1
            }
            tally.histogram.withUnsafeMutableBufferPointer { lookup.tally(counts, into: $0) }
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
