import Testing
@testable import DensityMetric

/// The summary's integer-threshold counting gives exactly what the per-density rules give.
@Suite struct DensitySummaryTests {
    /// The definition, one feature at a time: log10(density + 1e-10) binned, density >= threshold.
    private func naive(_ state: DensityState, bins: Int, denseThreshold: Double) -> (histogram: [Int], dead: Int, dense: Int, fired: Int128) {
        var histogram = [Int](repeating: 0, count: bins)
        var dead = 0, dense = 0
        var fired: Int128 = 0
        for count in state.counts {
            let density = Double(count) / Double(state.vectors)
            histogram[DensitySummary.bin(ofDensity: density, bins: bins)] += 1
            if count == 0 { dead += 1 }
            if density >= denseThreshold { dense += 1 }
            fired += Int128(count)
        }
        return (histogram, dead, dense, fired)
    }

    @Test(arguments: [Int64(1), 3, 100, 4096, 1_000_003, 1 << 40])
    func matchesThePerFeatureDefinition(vectors: Int64) throws {
        var rng = SplitMix64(seed: UInt64(vectors))
        // Counts spread over every decade, plus the edges: 0, 1, vectors, and counts at bin edges.
        var counts = (0..<3000).map { _ -> Int64 in
            let exponent = Double.random(in: -11...0, using: &rng)
            return min(vectors, Int64((pow10(exponent) * Double(vectors)).rounded()))
        }
        counts += [0, 1, vectors, vectors / 100, max(0, vectors / 100 - 1), vectors / 100 + 1]
        let state = try DensityState(features: counts.count, components: nil, counts: counts, vectors: vectors)
        for bins in [1, 10, 50, 73] {
            // 1.01e-2 and 0.0099: a dense boundary within 1% of a bin's first count, in the same
            // float range of the lookup table, whose counts then take the exact search.
            for threshold in [1e-2, 1e-6, 0.5, 1.01e-2, 0.0099] {
                let summary = DensitySummary(state, denseThreshold: threshold, bins: bins)
                let expected = naive(state, bins: bins, denseThreshold: threshold)
                #expect(summary.histogram == expected.histogram, "vectors \(vectors), bins \(bins)")
                #expect(summary.dead == expected.dead)
                #expect(summary.dense == expected.dense, "vectors \(vectors), threshold \(threshold)")
                #expect(summary.firedTotal == expected.fired)
                #expect(summary.histogram.reduce(0, +) == counts.count)
            }
        }
    }

    @Test func theSumOfCountsIsExactPastInt64() throws {
        let n: Int64 = 1 << 62
        // 19 counts (past one SIMD block, with a tail) of up to 2^62: the sum is 2^66-ish.
        let counts = (0..<19).map { n - Int64($0) }
        let state = try DensityState(features: counts.count, components: nil, counts: counts, vectors: n)
        let exact = counts.reduce(Int128(0)) { $0 + Int128($1) }
        #expect(exact > Int128(Int64.max))
        #expect(DensitySummary(state).firedTotal == exact)
        #expect(state.firedTotal == exact)
        #expect(DensitySummary(state).meanDensity == Double(exact) / (Double(n) * 19))
    }

    @Test func anEmptyStateIsAllInTheFirstBin() throws {
        let state = try DensityState(features: 5, components: 2)
        let summary = DensitySummary(state)
        #expect(summary.histogram.first == 10 && summary.histogram.dropFirst().allSatisfy { $0 == 0 })
        #expect(summary.dead == 10 && summary.dense == 0)
        #expect(summary.meanDensity.isNaN)
    }

    /// A state never holds a count above its vectors, but a damaged store could: such a count is
    /// binned (as the densities above 1 it stands for, into the last bin), never looked up past the tables.
    @Test func countsAboveTheVectorsAreBinnedWithinTheTables() {
        let builder = DensitySummary.Builder(vectors: 10, width: 5, nonFinite: 0, bins: 10)
        let counts: [Int64] = [0, 10, 11, 50, 1 << 62]
        let tally = counts.withUnsafeBufferPointer { builder.tally($0) }
        #expect(tally.histogram == [1, 0, 0, 0, 0, 0, 0, 0, 0, 4])
    }

    private func pow10(_ x: Double) -> Double {
        var result = 1.0
        var e = x
        while e < 0 { result /= 10; e += 1 }
        return result * Double(sign: .plus, exponent: 0, significand: 1) * exp10Fraction(e)
    }

    private func exp10Fraction(_ f: Double) -> Double {
        // 10^f for f in [0, 1) by a short series of 2^(f log2 10); accuracy does not matter here.
        var result = 1.0, term = 1.0
        let x = f * 2.302585092994046
        for k in 1...20 { term *= x / Double(k); result += term }
        return result
    }
}
