/// The feature density metric of sparse-autoencoder training, with exact 64-bit counts.
///
/// The same semantics as torchmetrics' `FeatureDensityMetric` (Python `sparse_autoencoder`):
/// ``update(_:shape:)`` adds the batch size to the vector count and, per (component, feature),
/// the number of vectors on which the activation was `> fireThreshold`; ``compute()`` divides
/// them; ``merge(_:)`` sums two states as a distributed reduction does.
///
/// ```swift
/// var metric = try FeatureDensityMetric(numLearnedFeatures: 3, numComponents: 1)
/// try metric.update([1, 0, 1,  0, 0, 0] as [Float], shape: [2, 1, 3])
/// metric.compute()  // [0.5, 0.0, 0.5]
/// ```
public struct FeatureDensityMetric: Sendable, Hashable {
    /// The number of learned features.
    public var numLearnedFeatures: Int { state.features }
    /// The number of components, or `nil` when activations are `[batch, features]`.
    public var numComponents: Int? { state.components }
    /// A value fires when it is strictly greater than this (0 by default, as `torch.gt(x, 0)`).
    public let fireThreshold: Double
    /// The exact state: counts, vectors and non-finite count.
    public private(set) var state: DensityState

    /// A metric with an empty state.
    /// - Parameters:
    ///   - numLearnedFeatures: The number of learned features, positive.
    ///   - numComponents: The number of components, positive, or `nil` for `[batch, features]` input.
    ///   - fireThreshold: A finite threshold; an activation fires when it is `> fireThreshold`.
    /// - Throws: ``DensityError`` when a size is not positive or the threshold is not finite.
    public init(numLearnedFeatures: Int, numComponents: Int? = nil, fireThreshold: Double = 0) throws {
        try self.init(state: DensityState(features: numLearnedFeatures, components: numComponents),
                      fireThreshold: fireThreshold)
    }

    /// A metric that continues from a saved state (resume after a crash).
    /// - Parameters:
    ///   - state: The state to continue from.
    ///   - fireThreshold: The run's threshold.
    /// - Throws: ``DensityError/invalidThreshold(_:)``.
    public init(state: DensityState, fireThreshold: Double = 0) throws {
        guard fireThreshold.isFinite else { throw DensityError.invalidThreshold(fireThreshold) }
        self.state = state
        self.fireThreshold = fireThreshold
    }

    /// The shape a batch must have, in words.
    public var expectedShape: String {
        numComponents.map { "[batch, \($0), \(numLearnedFeatures)]" } ?? "[batch, \(numLearnedFeatures)]"
    }

    /// Checks a batch's shape against the metric and returns the batch size.
    /// - Parameters:
    ///   - shape: `[batch, features]` or `[batch, components, features]`.
    ///   - valueCount: How many values the buffer holds.
    /// - Returns: The batch size.
    /// - Throws: ``DensityError`` naming the expected and the actual shape.
    public func batchSize(ofShape shape: [Int], valueCount: Int) throws -> Int {
        let expectedRank = numComponents == nil ? 2 : 3
        guard shape.count == expectedRank, shape.last == numLearnedFeatures,
              numComponents == nil || shape[1] == numComponents
        else { throw DensityError.shapeMismatch(expected: expectedShape, actual: shape) }
        guard shape[0] > 0 else { throw DensityError.nonPositiveSize(name: "batch", value: shape[0]) }
        let (expected, overflow) = shape[0].multipliedReportingOverflow(by: state.counts.count)
        guard !overflow, expected == valueCount else {
            throw DensityError.bufferSizeMismatch(shape: shape, expected: overflow ? Int.max : expected, actual: valueCount)
        }
        return shape[0]
    }

    // MARK: - update

    /// Adds a batch of float32 activations.
    /// - Parameters:
    ///   - activations: Contiguous row-major values.
    ///   - shape: `[batch, features]`, or `[batch, components, features]` when the metric has components.
    /// - Throws: ``DensityError`` when the shape does not fit; the state is then unchanged.
    public mutating func update(_ activations: UnsafeBufferPointer<Float>, shape: [Int]) throws {
        let batch = try batchSize(ofShape: shape, valueCount: activations.count)
        let threshold = Float(fireThreshold)
        add(batch: batch) { counts, width in
            FiringKernel.accumulate(activations.baseAddress!, rows: batch, width: width, threshold: threshold, into: counts)
        }
    }

    /// Adds a batch of float32 activations from an array.
    /// - Parameters:
    ///   - activations: Row-major values.
    ///   - shape: `[batch, features]` or `[batch, components, features]`.
    /// - Throws: ``DensityError`` when the shape does not fit.
    public mutating func update(_ activations: [Float], shape: [Int]) throws {
        try activations.withUnsafeBufferPointer { try update($0, shape: shape) }
    }

    /// Adds a batch of float64 activations, compared in double precision.
    /// - Parameters:
    ///   - activations: Contiguous row-major values.
    ///   - shape: `[batch, features]` or `[batch, components, features]`.
    /// - Throws: ``DensityError`` when the shape does not fit.
    public mutating func update(_ activations: UnsafeBufferPointer<Double>, shape: [Int]) throws {
        let batch = try batchSize(ofShape: shape, valueCount: activations.count)
        let threshold = fireThreshold
        add(batch: batch) { counts, width in
            FiringKernel.accumulate(activations.baseAddress!, rows: batch, width: width, threshold: threshold, into: counts)
        }
    }

    /// Runs a kernel over the counts, then adds the batch and the non-finite values it found.
    private mutating func add(batch: Int, _ kernel: (UnsafeMutablePointer<Int64>, Int) -> Int64) {
        let width = state.counts.count
        let nonFinite = state.counts.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, width) }
        state.vectors &+= Int64(batch)
        state.nonFinite &+= nonFinite
    }

    /// Adds a batch of float64 activations from an array.
    /// - Parameters:
    ///   - activations: Row-major values.
    ///   - shape: `[batch, features]` or `[batch, components, features]`.
    /// - Throws: ``DensityError`` when the shape does not fit.
    public mutating func update(_ activations: [Double], shape: [Int]) throws {
        try activations.withUnsafeBufferPointer { try update($0, shape: shape) }
    }

    /// Adds a batch of float16 activations, given as IEEE 754 half-precision bit patterns.
    ///
    /// Every half value widens exactly to float32; the threshold is first rounded to half, as
    /// `torch.gt(half_tensor, threshold)` does, so the result is the same as in PyTorch.
    /// - Parameters:
    ///   - bitPatterns: Contiguous row-major half-precision values.
    ///   - shape: `[batch, features]` or `[batch, components, features]`.
    /// - Throws: ``DensityError`` when the shape does not fit.
    public mutating func update(float16BitPatterns bitPatterns: UnsafeBufferPointer<UInt16>, shape: [Int]) throws {
        let batch = try batchSize(ofShape: shape, valueCount: bitPatterns.count)
        let width = state.counts.count
        let threshold = HalfFloat.roundTrip(Float(fireThreshold))
        let rowsPerBlock = max(1, 16_384 / width)
        var widened = [Float](repeating: 0, count: rowsPerBlock * width)
        var nonFinite: Int64 = 0
        var row = 0
        while row < batch {
            let rows = min(rowsPerBlock, batch - row)
            for i in 0..<(rows * width) {
                widened[i] = HalfFloat.widen(bitPatterns[row * width + i])
            }
            nonFinite &+= widened.withUnsafeBufferPointer { block in
                state.counts.withUnsafeMutableBufferPointer { counts in
                    FiringKernel.accumulate(block.baseAddress!, rows: rows, width: width,
                                            threshold: threshold, into: counts.baseAddress!)
                }
            }
            row += rows
        }
        state.vectors &+= Int64(batch)
        state.nonFinite &+= nonFinite
    }

    // MARK: - compute, reset, merge

    /// The densities: count / vectors per (component, feature), row-major, as float64.
    /// NaN everywhere when no vector was seen (0/0, as in the reference).
    public func compute() -> [Double] { state.densities() }

    /// Returns the state to zero.
    public mutating func reset() {
        state = try! DensityState(features: state.features, components: state.components)
    }

    /// Adds another metric's state, as a distributed sum-reduction does.
    /// - Parameter other: A metric of the same width and threshold.
    /// - Throws: ``DensityError/incompatibleStates(expected:actual:)`` naming both widths or thresholds.
    public mutating func merge(_ other: FeatureDensityMetric) throws {
        guard other.fireThreshold == fireThreshold else {
            throw DensityError.incompatibleStates(
                expected: "fire threshold \(fireThreshold)", actual: "fire threshold \(other.fireThreshold)")
        }
        state = try state.merged(with: other.state)
    }
}
