#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#else
internal import Darwin
#endif

/// A deterministic synthetic SAE workload: activations whose features fire with realistic densities.
///
/// Each feature has a target density with log10 density ~ Normal(mean, sd) clipped to [-7, 0]; a
/// fraction of features is dead from the start; another fraction dies during training (its density
/// falls to zero after a feature-specific step). Activations are ReLU-like: 0 where the feature
/// does not fire, a positive value where it does. Firing positions are drawn with geometric gaps,
/// so generating a batch costs O(features + firings), not O(batch x features).
public struct SyntheticSAE: Sendable {
    /// The number of learned features.
    public let features: Int
    /// Target density of every feature at the start of training.
    public let baseDensity: [Double]
    /// For a dying feature, the step at which it stops firing; `Int64.max` for the others.
    public let deathStep: [Int64]
    /// The seed; every batch is drawn from a generator seeded by it and the step.
    public let seed: UInt64

    /// A workload.
    /// - Parameters:
    ///   - features: The number of learned features.
    ///   - seed: The random seed.
    ///   - log10Mean: Mean of log10 density (-3 by default).
    ///   - log10StandardDeviation: Its standard deviation (1 by default).
    ///   - deadFraction: Features that never fire (5% by default).
    ///   - dyingFraction: Features that die during training (3% by default).
    ///   - dyingBetween: The steps between which the dying features die.
    public init(
        features: Int, seed: UInt64 = 42, log10Mean: Double = -3, log10StandardDeviation: Double = 1,
        deadFraction: Double = 0.05, dyingFraction: Double = 0.03, dyingBetween: ClosedRange<Int64> = 1_000...4_000
    ) {
        var generator = SplitMix64(seed: seed)
        var density = [Double](repeating: 0, count: features)
        var death = [Int64](repeating: .max, count: features)
        for f in 0..<features {
            let log10Density = min(0, max(-7, log10Mean + log10StandardDeviation * generator.nextGaussian()))
            density[f] = pow(10, log10Density)
            let draw = generator.nextUnitInterval()
            if draw <= deadFraction {
                density[f] = 0
            } else if draw <= deadFraction + dyingFraction {
                let span = UInt64(dyingBetween.upperBound - dyingBetween.lowerBound + 1)
                death[f] = dyingBetween.lowerBound + Int64(generator.next() % span)
                density[f] = max(density[f], 1e-3)  // visible before it dies
            }
        }
        self.features = features
        self.baseDensity = density
        self.deathStep = death
        self.seed = seed
    }

    /// The density feature `f` fires with at a training step.
    /// - Parameters:
    ///   - feature: The feature.
    ///   - step: The training step.
    public func density(feature: Int, atStep step: Int64) -> Double {
        step >= deathStep[feature] ? 0 : baseDensity[feature]
    }

    /// Fills a row-major `[batch, features]` buffer with one batch of activations at a step.
    ///
    /// The batch depends only on the seed, the step and the batch size, so a run that resumes
    /// at a step regenerates exactly the batches it lost.
    /// - Parameters:
    ///   - buffer: `batch * features` values; overwritten.
    ///   - batch: The number of activation vectors.
    ///   - step: The training step (dying features stop firing after their step).
    public func fill(_ buffer: UnsafeMutableBufferPointer<Float>, batch: Int, step: Int64) {
        precondition(buffer.count == batch * features, "buffer must hold batch x features values")
        var generator = SplitMix64(seed: seed &+ 0x51_7CC1_B727_220A &* UInt64(bitPattern: step &+ 1))
        buffer.update(repeating: 0)
        for f in 0..<features {
            let p = density(feature: f, atStep: step)
            guard p > 0 else { continue }
            if p >= 1 {
                for row in 0..<batch { buffer[row * features + f] = 1 }
                continue
            }
            // Geometric gaps between firings: an exact Bernoulli(p) process over the batch.
            let logMiss = log1p(-p)
            var row = Int(log(generator.nextUnitInterval()) / logMiss)
            while row < batch {
                buffer[row * features + f] = Float(generator.nextUnitInterval())
                let gap = log(generator.nextUnitInterval()) / logMiss
                row += 1 + (gap < Double(batch) ? Int(gap) : batch)
            }
        }
    }

    /// One batch of activations as an array, row-major `[batch, features]`.
    /// - Parameters:
    ///   - batch: The number of activation vectors.
    ///   - step: The training step.
    /// - Returns: `batch * features` values.
    public func batch(_ batch: Int, step: Int64) -> [Float] {
        var values = [Float](repeating: 0, count: batch * features)
        values.withUnsafeMutableBufferPointer { fill($0, batch: batch, step: step) }
        return values
    }
}

extension SyntheticSAE {
    /// How many times each feature fires over `batches` batches of `batch` vectors at a step,
    /// without materializing the activations: a Binomial(batch x batches, density) draw per
    /// feature (exact geometric gaps when few firings are expected, a rounded normal otherwise).
    ///
    /// For benchmarks and tests that need realistic count increments of wide runs.
    /// - Parameters:
    ///   - batch: Vectors per batch.
    ///   - batches: How many batches.
    ///   - step: The training step (dying features stop firing after their step).
    ///   - salt: Varies the draw between calls at the same step.
    /// - Returns: One count per feature, each in `0...batch * batches`.
    public func firings(batch: Int, batches: Int = 1, step: Int64, salt: UInt64 = 0) -> [Int64] {
        var generator = SplitMix64(seed: seed &+ 0x2545_F491_4F6C_DD1D &* UInt64(bitPattern: step &+ 1) &+ salt)
        let n = Double(batch) * Double(batches)
        let total = Int64(batch) * Int64(batches)
        return (0..<features).map { f in
            let p = density(feature: f, atStep: step)
            if p <= 0 { return 0 }
            if p >= 1 { return total }
            let mean = n * p
            if mean < 30 {
                let logMiss = log1p(-p)
                var fired: Int64 = 0
                var position = log(generator.nextUnitInterval()) / logMiss
                while position < n {
                    fired += 1
                    position += 1 + log(generator.nextUnitInterval()) / logMiss
                }
                return fired
            }
            let draw = (mean + (mean * (1 - p)).squareRoot() * generator.nextGaussian()).rounded()
            return Int64(min(Double(total), max(0, draw)))
        }
    }
}
