import Testing
@testable import DensityMetric

/// The metric engine against the reference semantics and against a plain-loop reference.
@Suite struct FeatureDensityMetricTests {
    /// A batch shape: `[batch, features]` when `components` is nil, else `[batch, components, features]`.
    struct Shape: Sendable, CustomTestStringConvertible {
        let batch: Int
        let components: Int?
        let features: Int
        var width: Int { (components ?? 1) * features }
        var dims: [Int] { components.map { [batch, $0, features] } ?? [batch, features] }
        var testDescription: String { "\(dims)" }
    }

    /// Widths around and past the kernel's 4096-column tile, with and without components
    /// (3 x 1500 = 4500 puts a tile boundary inside a component).
    static let shapes: [Shape] = [
        Shape(batch: 5, components: nil, features: 1),
        Shape(batch: 7, components: nil, features: 3),
        Shape(batch: 3, components: nil, features: 4095),
        Shape(batch: 3, components: nil, features: 4096),
        Shape(batch: 2, components: nil, features: 4097),
        Shape(batch: 2, components: nil, features: 9000),
        Shape(batch: 4, components: 1, features: 5),
        Shape(batch: 4, components: 2, features: 3),
        Shape(batch: 3, components: 3, features: 1500),
        Shape(batch: 2, components: 2, features: 4097),
    ]
    static let thresholds: [Double] = [0, 1e-3, -1e-3, -0.5]

    // MARK: - The reference's worked example

    @Test func workedExampleOfTheReference() throws {
        var metric = try FeatureDensityMetric(numLearnedFeatures: 3, numComponents: 1)
        try metric.update([1, 0, 1, 0, 0, 0] as [Float], shape: [2, 1, 3])
        #expect(metric.compute() == [0.5, 0.0, 0.5])
        #expect(metric.state.counts == [1, 0, 1])
        #expect(metric.state.vectors == 2)
        #expect(metric.state.nonFinite == 0)
        #expect(metric.state.shape == [1, 3])
    }

    @Test func computeWithNoVectorsIsNaN() throws {
        let metric = try FeatureDensityMetric(numLearnedFeatures: 4)
        let densities = metric.compute()
        #expect(densities.count == 4)
        #expect(densities.allSatisfy { $0.isNaN })
    }

    // MARK: - Randomized agreement with the plain-loop reference

    @Test(arguments: shapes, thresholds)
    func float32AgreesWithReference(shape: Shape, threshold: Double) throws {
        var rng = SplitMix64(seed: UInt64(shape.width * 31 + shape.batch) ^ threshold.bitPattern)
        var metric = try FeatureDensityMetric(
            numLearnedFeatures: shape.features, numComponents: shape.components, fireThreshold: threshold)
        var reference = ReferenceCounts(width: shape.width)
        // A float32 batch is compared with the threshold rounded to float32, as torch.gt does
        // with a Python scalar (the scalar takes the tensor's dtype).
        let t = Float(threshold)
        for batch in [shape.batch, 1, shape.batch + 2] {
            let values = randomFloats(count: batch * shape.width, threshold: t, using: &rng)
            var dims = shape.dims
            dims[0] = batch
            try metric.update(values, shape: dims)
            reference.add(values, rows: batch, fires: { $0 > t }, isNonFinite: { !$0.isFinite })
        }
        #expect(metric.state.counts == reference.counts)
        #expect(metric.state.vectors == reference.vectors)
        #expect(metric.state.nonFinite == reference.nonFinite)
        #expect(metric.compute() == reference.densities)
        #expect(reference.counts.contains { $0 > 0 }, "the data should make some features fire")
    }

    @Test(arguments: shapes, thresholds)
    func float64AgreesWithReference(shape: Shape, threshold: Double) throws {
        var rng = SplitMix64(seed: UInt64(shape.width * 17 + shape.batch) ^ threshold.bitPattern)
        var metric = try FeatureDensityMetric(
            numLearnedFeatures: shape.features, numComponents: shape.components, fireThreshold: threshold)
        var reference = ReferenceCounts(width: shape.width)
        for batch in [shape.batch, 3] {
            let values = randomDoubles(count: batch * shape.width, threshold: threshold, using: &rng)
            var dims = shape.dims
            dims[0] = batch
            try metric.update(values, shape: dims)
            reference.add(values, rows: batch, fires: { $0 > threshold }, isNonFinite: { !$0.isFinite })
        }
        #expect(metric.state.counts == reference.counts)
        #expect(metric.state.vectors == reference.vectors)
        #expect(metric.state.nonFinite == reference.nonFinite)
        #expect(metric.compute() == reference.densities)
    }

    @Test(arguments: shapes, thresholds)
    func float16AgreesWithReference(shape: Shape, threshold: Double) throws {
        var rng = SplitMix64(seed: UInt64(shape.width * 13 + shape.batch) ^ threshold.bitPattern)
        var metric = try FeatureDensityMetric(
            numLearnedFeatures: shape.features, numComponents: shape.components, fireThreshold: threshold)
        var reference = ReferenceCounts(width: shape.width)
        // As torch.gt on a half tensor: the threshold is rounded to half (through float, as
        // c10::Half's constructor does), then compared with the half values.
        let t = referenceHalfThreshold(threshold)
        for batch in [shape.batch, 2] {
            let bits = randomHalfBits(count: batch * shape.width, using: &rng)
            var dims = shape.dims
            dims[0] = batch
            try bits.withUnsafeBufferPointer { try metric.update(float16BitPatterns: $0, shape: dims) }
            reference.add(bits, rows: batch,
                          fires: { referenceHalfToDouble($0) > t },
                          isNonFinite: { !referenceHalfToDouble($0).isFinite })
        }
        #expect(metric.state.counts == reference.counts)
        #expect(metric.state.vectors == reference.vectors)
        #expect(metric.state.nonFinite == reference.nonFinite)
    }

    /// A float16 batch wider than the engine's 16 384-value widening block, with many rows, so
    /// the block loop runs several times and ends on a partial block.
    @Test func float16AcrossWideningBlocks() throws {
        let shape = Shape(batch: 9, components: 2, features: 5000)
        var rng = SplitMix64(seed: 99)
        var metric = try FeatureDensityMetric(numLearnedFeatures: 5000, numComponents: 2)
        let bits = randomHalfBits(count: shape.batch * shape.width, using: &rng)
        try bits.withUnsafeBufferPointer { try metric.update(float16BitPatterns: $0, shape: shape.dims) }
        var reference = ReferenceCounts(width: shape.width)
        reference.add(bits, rows: shape.batch, fires: { referenceHalfToDouble($0) > 0 },
                      isNonFinite: { !referenceHalfToDouble($0).isFinite })
        #expect(metric.state.counts == reference.counts)
        #expect(metric.state.nonFinite == reference.nonFinite)
    }

    /// The threshold rounded as PyTorch rounds a Python float for a half tensor.
    private func referenceHalfThreshold(_ threshold: Double) -> Double {
        #if !(os(macOS) && arch(x86_64))
        return Double(Float16(Float(threshold)))
        #else
        return Double(HalfFloat.roundTrip(Float(threshold)))
        #endif
    }

    @Test func float32ComparesInFloat32LikeTorch() throws {
        // Float(1e-3) is slightly above 1e-3 as a double; in float32 it equals the threshold.
        let t = Float(1e-3)
        var metric = try FeatureDensityMetric(numLearnedFeatures: 3, fireThreshold: 1e-3)
        try metric.update([t.nextDown, t, t.nextUp], shape: [1, 3])
        #expect(metric.state.counts == [0, 0, 1])
    }

    // MARK: - The fire rule's edges

    @Test func fireRuleEdgesFloat32() throws {
        let values: [Float] = [.infinity, .nan, -.infinity, 0, -0.0, .leastNonzeroMagnitude,
                               -.leastNonzeroMagnitude, .greatestFiniteMagnitude, -1, Float(bitPattern: 0x7FC0_0001)]
        let fires: [Int64] = [1, 0, 0, 0, 0, 1, 0, 1, 0, 0]
        var metric = try FeatureDensityMetric(numLearnedFeatures: values.count)
        try metric.update(values, shape: [1, values.count])
        #expect(metric.state.counts == fires)
        #expect(metric.state.nonFinite == 4)  // +inf, NaN, -inf, NaN with payload
        #expect(metric.state.vectors == 1)
    }

    @Test func fireRuleEdgesFloat64() throws {
        let values: [Double] = [.infinity, .nan, -.infinity, 0, -0.0, .leastNonzeroMagnitude,
                                -.leastNonzeroMagnitude, .greatestFiniteMagnitude, -1, -.nan]
        let fires: [Int64] = [1, 0, 0, 0, 0, 1, 0, 1, 0, 0]
        var metric = try FeatureDensityMetric(numLearnedFeatures: values.count)
        try metric.update(values, shape: [1, values.count])
        #expect(metric.state.counts == fires)
        #expect(metric.state.nonFinite == 4)
    }

    @Test func fireRuleEdgesFloat16() throws {
        // +inf, NaN, -inf, +0, -0, smallest subnormal, its negative, largest finite, -1, -NaN
        let bits: [UInt16] = [0x7C00, 0x7E00, 0xFC00, 0x0000, 0x8000, 0x0001, 0x8001, 0x7BFF, 0xBC00, 0xFE01]
        let fires: [Int64] = [1, 0, 0, 0, 0, 1, 0, 1, 0, 0]
        var metric = try FeatureDensityMetric(numLearnedFeatures: bits.count)
        try bits.withUnsafeBufferPointer { try metric.update(float16BitPatterns: $0, shape: [1, bits.count]) }
        #expect(metric.state.counts == fires)
        #expect(metric.state.nonFinite == 4)
    }

    @Test func negativeThresholdMakesZerosFire() throws {
        var metric = try FeatureDensityMetric(numLearnedFeatures: 5, fireThreshold: -0.5)
        try metric.update([0, -0.0, -0.5, -.infinity, .nan] as [Double], shape: [1, 5])
        #expect(metric.state.counts == [1, 1, 0, 0, 0])
        try metric.update([0, -0.0, -0.5, -.infinity, .nan] as [Float], shape: [1, 5])
        #expect(metric.state.counts == [2, 2, 0, 0, 0])
        #expect(metric.state.nonFinite == 4)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteThresholdIsRefused(threshold: Double) {
        #expect(throws: DensityError.self) {
            _ = try FeatureDensityMetric(numLearnedFeatures: 2, fireThreshold: threshold)
        }
    }

    // MARK: - Exact counts past 2^24

    @Test func countsStayExactPastTwoToThe24() throws {
        // float32 can no longer count one by one at 2^24: the weakness of the reference.
        #expect(Float(16_777_216) + 1 == Float(16_777_216))
        let rows = 1 << 20
        let ones = [Float](repeating: 1, count: rows)
        var metric = try FeatureDensityMetric(numLearnedFeatures: 1)
        for _ in 0..<17 { try metric.update(ones, shape: [rows, 1]) }
        try metric.update([1, 0] as [Float], shape: [2, 1])
        let expected: Int64 = 17 * (1 << 20) + 1  // 17 825 793: odd, so not a float32 value
        #expect(expected > 16_777_216)
        #expect(metric.state.counts == [expected])
        #expect(metric.state.vectors == expected + 1)
        #expect(Int64(exactly: Float(expected)) != expected)
        #expect(metric.compute() == [Double(expected) / Double(expected + 1)])
    }

    @Test func mergedCountsStayExactPastTwoToThe24() throws {
        var a = try FeatureDensityMetric(state: DensityState(
            features: 2, components: nil, counts: [16_777_216, 3], vectors: 16_777_216))
        let b = try FeatureDensityMetric(state: DensityState(
            features: 2, components: nil, counts: [1, 0], vectors: 1))
        try a.merge(b)
        #expect(a.state.counts == [16_777_217, 3])
        #expect(a.state.vectors == 16_777_217)
    }

    // MARK: - merge and reset

    @Test func mergeSumsStates() throws {
        var rng = SplitMix64(seed: 7)
        var a = try FeatureDensityMetric(numLearnedFeatures: 6, numComponents: 2, fireThreshold: 1e-3)
        var b = try FeatureDensityMetric(numLearnedFeatures: 6, numComponents: 2, fireThreshold: 1e-3)
        let x = randomFloats(count: 4 * 12, threshold: Float(1e-3), using: &rng)
        let y = randomFloats(count: 3 * 12, threshold: Float(1e-3), using: &rng)
        try a.update(x, shape: [4, 2, 6])
        try b.update(y, shape: [3, 2, 6])
        // The merged metric equals one metric that saw both batches.
        var both = try FeatureDensityMetric(numLearnedFeatures: 6, numComponents: 2, fireThreshold: 1e-3)
        try both.update(x, shape: [4, 2, 6])
        try both.update(y, shape: [3, 2, 6])
        var merged = a
        try merged.merge(b)
        #expect(merged == both)
        #expect(merged.state.vectors == 7)
        #expect(merged.state.counts == zip(a.state.counts, b.state.counts).map { $0 + $1 })
        #expect(merged.state.nonFinite == a.state.nonFinite + b.state.nonFinite)
    }

    @Test func mergeOfDifferentWidthsNamesBoth() throws {
        var a = try FeatureDensityMetric(numLearnedFeatures: 3)
        let b = try FeatureDensityMetric(numLearnedFeatures: 4)
        let c = try FeatureDensityMetric(numLearnedFeatures: 3, numComponents: 2)
        let before = a
        let error = #expect(throws: DensityError.self) { try a.merge(b) }
        let text = try #require(error).description
        #expect(text.contains("features=3"))
        #expect(text.contains("features=4"))
        let error2 = #expect(throws: DensityError.self) { try a.merge(c) }
        let text2 = try #require(error2).description
        #expect(text2.contains("no components"))
        #expect(text2.contains("components=2"))
        #expect(a == before)
    }

    @Test func mergeOfDifferentThresholdsNamesBoth() throws {
        var a = try FeatureDensityMetric(numLearnedFeatures: 3, fireThreshold: 0)
        let b = try FeatureDensityMetric(numLearnedFeatures: 3, fireThreshold: 0.001)
        let error = #expect(throws: DensityError.self) { try a.merge(b) }
        let text = try #require(error).description
        #expect(text.contains("0.0"))
        #expect(text.contains("0.001"))
    }

    @Test func resetReturnsToZero() throws {
        var metric = try FeatureDensityMetric(numLearnedFeatures: 3, numComponents: 2, fireThreshold: 0.25)
        try metric.update([1, 2, 3, .nan, 0, 1] as [Float], shape: [1, 2, 3])
        #expect(metric.state.vectors == 1)
        metric.reset()
        #expect(metric.state.counts == [0, 0, 0, 0, 0, 0])
        #expect(metric.state.vectors == 0)
        #expect(metric.state.nonFinite == 0)
        #expect(metric.numComponents == 2)
        #expect(metric.numLearnedFeatures == 3)
        #expect(metric.fireThreshold == 0.25)
        // Still usable after a reset.
        try metric.update([1, 0, 0, 0, 0, 1] as [Float], shape: [1, 2, 3])
        #expect(metric.state.counts == [1, 0, 0, 0, 0, 1])
    }

    // MARK: - Refused inputs name what was expected and what was given

    @Test func shapeMismatchNamesExpectedAndActual() throws {
        var metric = try FeatureDensityMetric(numLearnedFeatures: 3)
        let before = metric
        let wrongWidth = #expect(throws: DensityError.self) {
            try metric.update([Float](repeating: 1, count: 8), shape: [2, 4])
        }
        #expect(wrongWidth == .shapeMismatch(expected: "[batch, 3]", actual: [2, 4]))
        let text = try #require(wrongWidth).description
        #expect(text.contains("[2, 4]") && text.contains("[batch, 3]"))

        let wrongRank = #expect(throws: DensityError.self) {
            try metric.update([Double](repeating: 1, count: 6), shape: [2, 1, 3])
        }
        #expect(wrongRank == .shapeMismatch(expected: "[batch, 3]", actual: [2, 1, 3]))
        #expect(metric == before)

        var withComponents = try FeatureDensityMetric(numLearnedFeatures: 3, numComponents: 2)
        let wrongComponents = #expect(throws: DensityError.self) {
            try withComponents.update([Float](repeating: 1, count: 9), shape: [1, 3, 3])
        }
        let text2 = try #require(wrongComponents).description
        #expect(text2.contains("[1, 3, 3]") && text2.contains("[batch, 2, 3]"))
        let missingComponents = #expect(throws: DensityError.self) {
            try withComponents.update([Float](repeating: 1, count: 6), shape: [2, 3])
        }
        #expect(missingComponents == .shapeMismatch(expected: "[batch, 2, 3]", actual: [2, 3]))
    }

    @Test func bufferOfWrongLengthNamesBoth() throws {
        var metric = try FeatureDensityMetric(numLearnedFeatures: 3)
        let error = #expect(throws: DensityError.self) {
            try metric.update([Float](repeating: 1, count: 5), shape: [2, 3])
        }
        #expect(error == .bufferSizeMismatch(shape: [2, 3], expected: 6, actual: 5))
        let text = try #require(error).description
        #expect(text.contains("6") && text.contains("5"))
        let bits = [UInt16](repeating: 0x3C00, count: 7)
        #expect(throws: DensityError.bufferSizeMismatch(shape: [2, 3], expected: 6, actual: 7)) {
            try bits.withUnsafeBufferPointer { try metric.update(float16BitPatterns: $0, shape: [2, 3]) }
        }
        #expect(metric.state.vectors == 0)
    }

    @Test func zeroBatchIsRefused() throws {
        var metric = try FeatureDensityMetric(numLearnedFeatures: 3)
        let error = #expect(throws: DensityError.self) { try metric.update([Float](), shape: [0, 3]) }
        #expect(error == .nonPositiveSize(name: "batch", value: 0))
        #expect(try #require(error).description.contains("batch must be a positive integer, got 0"))
        #expect(throws: DensityError.nonPositiveSize(name: "batch", value: 0)) {
            try metric.update([Double](), shape: [0, 3])
        }
        #expect(throws: DensityError.nonPositiveSize(name: "batch", value: 0)) {
            try [UInt16]().withUnsafeBufferPointer { try metric.update(float16BitPatterns: $0, shape: [0, 3]) }
        }
        #expect(metric.state.vectors == 0)
    }

    @Test(arguments: [(0, nil), (-3, nil), (3, 0), (3, -1)] as [(Int, Int?)])
    func nonPositiveSizesAreRefused(features: Int, components: Int?) throws {
        let error = #expect(throws: DensityError.self) {
            _ = try FeatureDensityMetric(numLearnedFeatures: features, numComponents: components)
        }
        let bad = features <= 0 ? ("features", features) : ("components", components!)
        #expect(error == .nonPositiveSize(name: bad.0, value: bad.1))
        let text = try #require(error).description
        #expect(text.contains(bad.0) && text.contains("positive") && text.contains("got \(bad.1)"))
    }
}
