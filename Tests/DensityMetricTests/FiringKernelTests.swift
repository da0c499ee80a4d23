import Testing
@testable import DensityMetric

/// The counting kernel on its own: every width around the SIMD step and the tile, row counts
/// around the four-row block, threshold edges, and the parallel split, against the plain loop.
@Suite struct FiringKernelTests {
    /// Runs the float32 kernel on `values` (`rows` x `width`) on top of non-zero counts and
    /// checks the added counts and the non-finite count against the reference loop.
    private func expectAgreement(
        _ values: [Float], rows: Int, width: Int, threshold: Float, threads: Int? = 1,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var reference = ReferenceCounts(width: width)
        reference.add(values, rows: rows, fires: { $0 > threshold }, isNonFinite: { !$0.isFinite })
        let start = (0..<width).map { Int64($0 % 5) }  // the kernel adds to what is there
        var counts = start
        let nonFinite = values.withUnsafeBufferPointer { v in
            counts.withUnsafeMutableBufferPointer { c in
                FiringKernel.accumulate(v.baseAddress!, rows: rows, width: width, threshold: threshold,
                                        into: c.baseAddress!, threads: threads)
            }
        }
        let added = zip(counts, start).map { $0 - $1 }
        #expect(added == reference.counts, "rows \(rows) width \(width) threshold \(threshold)",
                sourceLocation: sourceLocation)
        #expect(nonFinite == reference.nonFinite, sourceLocation: sourceLocation)
    }

    /// As ``expectAgreement(_:rows:width:threshold:threads:sourceLocation:)``, for float64.
    private func expectAgreement(
        _ values: [Double], rows: Int, width: Int, threshold: Double, threads: Int? = 1,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var reference = ReferenceCounts(width: width)
        reference.add(values, rows: rows, fires: { $0 > threshold }, isNonFinite: { !$0.isFinite })
        var counts = [Int64](repeating: 7, count: width)
        let nonFinite = values.withUnsafeBufferPointer { v in
            counts.withUnsafeMutableBufferPointer { c in
                FiringKernel.accumulate(v.baseAddress!, rows: rows, width: width, threshold: threshold,
                                        into: c.baseAddress!, threads: threads)
            }
        }
        #expect(counts.map { $0 - 7 } == reference.counts, "rows \(rows) width \(width) threshold \(threshold)",
                sourceLocation: sourceLocation)
        #expect(nonFinite == reference.nonFinite, sourceLocation: sourceLocation)
    }

    // MARK: - Shapes

    /// Every width from 1 to 40 (below, at and past one and two 16-lane steps) with row counts
    /// below, at and past the four-row block.
    @Test(arguments: [0, 1e-3, -0.5] as [Float])
    func everyNarrowWidthAndRowCount(threshold: Float) {
        var rng = SplitMix64(seed: 40 ^ UInt64(threshold.bitPattern))
        for width in 1...40 {
            for rows in [1, 2, 3, 4, 5, 7, 8, 9] {
                let values = randomFloats(count: rows * width, threshold: threshold, using: &rng)
                expectAgreement(values, rows: rows, width: width, threshold: threshold)
            }
        }
    }

    /// Widths around one and several tiles, so a tile ends inside a SIMD step's worth of
    /// columns and the last tile is partial.
    @Test(arguments: [FiringKernel.tileWidth - 1, FiringKernel.tileWidth, FiringKernel.tileWidth + 1,
                      FiringKernel.tileWidth + 17, 2 * FiringKernel.tileWidth + 40])
    func widthsAroundTheTile(width: Int) {
        var rng = SplitMix64(seed: UInt64(width))
        let rows = 6
        let values = randomFloats(count: rows * width, threshold: 0, using: &rng)
        expectAgreement(values, rows: rows, width: width, threshold: 0)
    }

    /// A batch of many rows on a narrow width: the accumulators take every row before a fold.
    @Test func manyRowsOnANarrowWidth() {
        var rng = SplitMix64(seed: 77)
        let (rows, width) = (1_003, 37)
        let values = randomFloats(count: rows * width, threshold: 0, using: &rng)
        expectAgreement(values, rows: rows, width: width, threshold: 0)
    }

    // MARK: - The fire rule's edges

    /// Thresholds at the edges of float32: the smallest subnormals, ±0, the largest finite
    /// values. `randomFloats` puts the threshold, its neighbours, ±0, NaN and ±inf in the data.
    @Test(arguments: [Float.leastNonzeroMagnitude, -.leastNonzeroMagnitude, -0.0, 0,
                      .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, Float(1e-3).nextUp])
    func thresholdEdges(threshold: Float) {
        var rng = SplitMix64(seed: UInt64(threshold.bitPattern))
        let (rows, width) = (9, 53)
        let values = randomFloats(count: rows * width, threshold: threshold, using: &rng)
        expectAgreement(values, rows: rows, width: width, threshold: threshold)
    }

    /// Every sign and exponent, with the smallest, a middle and the largest mantissa, in the
    /// SIMD body (the first 16 columns) and in the scalar tail (the 17th): whether it fires and
    /// whether it counts as non-finite.
    @Test func everyExponentInBodyAndTail() {
        var values: [Float] = []
        for sign: UInt32 in [0, 1] {
            for exponent: UInt32 in 0...255 {
                for mantissa: UInt32 in [0, 1, 0x40_0000, 0x7F_FFFF] {
                    values.append(Float(bitPattern: sign << 31 | exponent << 23 | mantissa))
                }
            }
        }
        for width in [16, 17] {
            let rows = values.count / width
            let batch = Array(values.prefix(rows * width))
            expectAgreement(batch, rows: rows, width: width, threshold: 0)
            expectAgreement(batch, rows: rows, width: width, threshold: -1)
        }
    }

    /// The kernel's integer forms of a compare: a fired lane is all ones (the layout of
    /// `SIMDMask` that the kernel's bit cast relies on), and the non-finite mask is exactly
    /// `!isFinite` for NaN with any payload and sign, both infinities and the finite extremes.
    @Test func masksAreAllOnesExactlyWhereExpected() {
        let x = SIMD16<Float>(.nan, -.nan, .infinity, -.infinity, Float(bitPattern: 0x7F80_0001),
                              Float(bitPattern: 0xFFFF_FFFF), .greatestFiniteMagnitude,
                              -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                              0, -0.0, 1, -1, .leastNormalMagnitude, Float(bitPattern: 0x7F7F_FFFF))
        let fired = FiringKernel.firedMask(x, SIMD16(repeating: 0))
        let nonFinite = FiringKernel.nonFiniteMask(x)
        for lane in 0..<16 {
            #expect(fired[lane] == (x[lane] > 0 ? UInt32.max : 0), "lane \(lane): \(x[lane])")
            #expect(nonFinite[lane] == (x[lane].isFinite ? 0 : UInt32.max), "lane \(lane): \(x[lane])")
        }
    }

    // MARK: - Parallel

    /// Forced splits into 2, 3 and 7 column ranges (ranges can be narrower than a SIMD step,
    /// or empty), on widths that are not multiples of 16.
    @Test(arguments: [2, 3, 7])
    func forcedParallelSplitsAgree(threads: Int) {
        var rng = SplitMix64(seed: UInt64(threads))
        for (rows, width) in [(5, 1), (5, 15), (6, 100), (9, 1_000), (4, FiringKernel.tileWidth + 33)] {
            let values = randomFloats(count: rows * width, threshold: 0, using: &rng)
            expectAgreement(values, rows: rows, width: width, threshold: 0, threads: threads)
        }
    }

    /// A batch large enough that the kernel picks the parallel path by itself (when the
    /// machine has more than one CPU), against the plain loop and the single-thread kernel.
    @Test func automaticParallelPathOnALargeBatch() {
        let (rows, width) = (67, 40_003)  // 10.7 MB of float32, a width not a multiple of 16
        #expect(FiringKernel.plannedParts(rows: rows, width: width, bytesPerValue: 4)
                == min(2, FiringKernel.processorCount))
        var rng = SplitMix64(seed: 2024)
        let values = randomFloats(count: rows * width, threshold: 1e-3, using: &rng)
        expectAgreement(values, rows: rows, width: width, threshold: 1e-3, threads: nil)
        expectAgreement(values, rows: rows, width: width, threshold: 1e-3, threads: 1)
    }

    @Test func smallBatchesStayOnOneThread() {
        #expect(FiringKernel.plannedParts(rows: 1, width: 16_384, bytesPerValue: 4) == 1)
        #expect(FiringKernel.plannedParts(rows: 64, width: 16_384, bytesPerValue: 4) == 1)  // 4 MiB
        #expect(FiringKernel.plannedParts(rows: 1 << 20, width: 8, bytesPerValue: 4) == 1)  // too narrow
        #expect(FiringKernel.plannedParts(rows: 1 << 30, width: 1 << 30, bytesPerValue: 8)
                == FiringKernel.processorCount)  // the byte count overflows Int
    }

    /// The column ranges of a split cover the width in order, and every boundary but the last
    /// falls on a multiple of 16.
    @Test func columnRangesCoverTheWidth() {
        for width in [1, 15, 16, 17, 100, 4_096, 65_539] {
            for parts in 1...9 {
                let ranges = (0..<parts).map { FiringKernel.columns(ofPart: $0, of: parts, width: width) }
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == width)
                for (a, b) in zip(ranges, ranges.dropFirst()) {
                    #expect(a.upperBound == b.lowerBound && a.upperBound % 16 == 0, "width \(width) parts \(parts)")
                }
            }
        }
    }

    // MARK: - float64

    @Test(arguments: [0, -0.5, Double.leastNonzeroMagnitude])
    func float64EveryNarrowWidth(threshold: Double) {
        var rng = SplitMix64(seed: 64 ^ threshold.bitPattern)
        for width in 1...20 {
            for rows in [1, 3, 5] {
                let values = randomDoubles(count: rows * width, threshold: threshold, using: &rng)
                expectAgreement(values, rows: rows, width: width, threshold: threshold)
            }
        }
    }

    @Test func float64AcrossTilesAndThreads() {
        var rng = SplitMix64(seed: 6464)
        let (rows, width) = (3, FiringKernel.tileWidth + 9)
        let values = randomDoubles(count: rows * width, threshold: 0, using: &rng)
        expectAgreement(values, rows: rows, width: width, threshold: 0)
        expectAgreement(values, rows: rows, width: width, threshold: 0, threads: 3)
    }

    @Test func float64NonFiniteWithPayloadsAndSigns() {
        let values: [Double] = [.nan, -.nan, .infinity, -.infinity, Double(bitPattern: 0x7FF0_0000_0000_0001),
                                Double(bitPattern: 0xFFFF_FFFF_FFFF_FFFF), .greatestFiniteMagnitude,
                                -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0, 0, 1]
        expectAgreement(values, rows: 1, width: values.count, threshold: 0)  // 8 in SIMD, 4 in the tail
        expectAgreement(values, rows: 2, width: values.count / 2, threshold: 0)
    }
}
