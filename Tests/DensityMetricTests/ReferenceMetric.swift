// Test support: a deterministic random generator and a deliberately simple reference
// implementation of the feature density metric, written from the reference semantics
// (shared/reference/feature_density.md), not from the engine: loop over the batch, count
// `value > threshold` per (component, feature), count NaN and ±inf.

/// SplitMix64: a small seeded generator, so every randomized test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What the reference counts for one batch (or several, added up).
struct ReferenceCounts: Equatable {
    var counts: [Int64]
    var vectors: Int64 = 0
    var nonFinite: Int64 = 0

    init(width: Int) { counts = Array(repeating: 0, count: width) }

    /// Adds a row-major `[rows, width]` batch: the plain loop of the reference's `update`.
    mutating func add<T>(_ values: [T], rows: Int, fires: (T) -> Bool, isNonFinite: (T) -> Bool) {
        let width = counts.count
        precondition(values.count == rows * width)
        for r in 0..<rows {
            for j in 0..<width {
                let x = values[r * width + j]
                if fires(x) { counts[j] += 1 }
                if isNonFinite(x) { nonFinite += 1 }
            }
        }
        vectors += Int64(rows)
    }

    /// `compute()`: count / vectors as float64.
    var densities: [Double] { counts.map { Double($0) / Double(vectors) } }
}

/// An independent half-precision decoder (arithmetic, not bit surgery): sign x significand x 2^e.
func referenceHalfToDouble(_ bits: UInt16) -> Double {
    let negative = bits & 0x8000 != 0
    let exponent = Int((bits >> 10) & 0x1F)
    let mantissa = Double(bits & 0x3FF)
    let magnitude: Double
    switch exponent {
    case 0x1F: magnitude = mantissa == 0 ? .infinity : .nan
    case 0: magnitude = mantissa / 1024 * 0x1p-14                              // subnormal
    default: magnitude = (1 + mantissa / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
    }
    return negative ? -magnitude : magnitude
}

/// Random activations that hit every edge of the fire rule often: zeros of both signs, the
/// threshold and its neighbours, the smallest subnormals, NaN and both infinities.
func randomFloats(count: Int, threshold: Float, using rng: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in
        switch rng.next() % 32 {
        case 0: return 0
        case 1: return -0.0
        case 2: return threshold
        case 3: return threshold.nextUp
        case 4: return threshold.nextDown
        case 5: return .nan
        case 6: return .infinity
        case 7: return -.infinity
        case 8: return .leastNonzeroMagnitude
        case 9: return -.leastNonzeroMagnitude
        case 10...17: return 0  // activations are sparse
        default: return Float.random(in: -2...2, using: &rng)
        }
    }
}

/// As ``randomFloats(count:threshold:using:)``, for float64.
func randomDoubles(count: Int, threshold: Double, using rng: inout SplitMix64) -> [Double] {
    (0..<count).map { _ in
        switch rng.next() % 32 {
        case 0: return 0
        case 1: return -0.0
        case 2: return threshold
        case 3: return threshold.nextUp
        case 4: return threshold.nextDown
        case 5: return .nan
        case 6: return .infinity
        case 7: return -.infinity
        case 8: return .leastNonzeroMagnitude
        case 9: return -.leastNonzeroMagnitude
        case 10...17: return 0
        default: return Double.random(in: -2...2, using: &rng)
        }
    }
}

/// Random half bit patterns: any pattern (so NaNs with payloads and subnormals too), plus the
/// zeros, infinities and the smallest subnormals more often than chance.
func randomHalfBits(count: Int, using rng: inout SplitMix64) -> [UInt16] {
    (0..<count).map { _ in
        switch rng.next() % 16 {
        case 0: return 0x0000        // +0
        case 1: return 0x8000        // -0
        case 2: return 0x7C00        // +inf
        case 3: return 0xFC00        // -inf
        case 4: return 0x0001        // smallest positive subnormal
        case 5: return 0x8001
        case 6: return 0x1418 + UInt16(rng.next() % 3)  // around 0x1419, 1e-3 rounded to half
        default: return UInt16(truncatingIfNeeded: rng.next())
        }
    }
}
