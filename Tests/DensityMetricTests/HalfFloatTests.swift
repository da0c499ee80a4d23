import Testing
@testable import DensityMetric

/// The hand-written half-precision conversions against an arithmetic decoder and, where the
/// platform has it, Swift's `Float16`.
@Suite struct HalfFloatTests {
    @Test func widenMatchesArithmeticReferenceForEveryBitPattern() {
        var mismatches: [UInt16] = []
        for raw in 0...0xFFFF {
            let bits = UInt16(raw)
            let widened = HalfFloat.widen(bits)
            let expected = referenceHalfToDouble(bits)
            let same = expected.isNaN
                ? widened.isNaN
                : Double(widened) == expected && widened.sign == expected.sign  // -0 stays -0
            if !same { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    #if !(os(macOS) && arch(x86_64))
    @Test func widenMatchesFloat16ForEveryBitPattern() {
        var mismatches: [UInt16] = []
        for raw in 0...0xFFFF {
            let bits = UInt16(raw)
            let widened = HalfFloat.widen(bits)
            let expected = Float(Float16(bitPattern: bits))
            // Bit patterns must agree exactly, except that the conversion of a signalling NaN
            // through `Float16` sets the quiet bit; `widen` keeps NaNs as NaN with sign and payload.
            let same = expected.isNaN
                ? widened.isNaN && (widened.bitPattern | 0x0040_0000) == expected.bitPattern
                : widened.bitPattern == expected.bitPattern
            if !same { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    /// Every finite half, every midpoint between neighbours (a tie, to even), and the floats just
    /// beside each midpoint: `roundTrip` must agree with `Float16(_:)`, which rounds to nearest even.
    @Test func roundTripMatchesFloat16AroundEveryHalf() {
        var mismatches: [Float] = []
        func check(_ x: Float) {
            let expected = Float(Float16(x))
            let actual = HalfFloat.roundTrip(x)
            if actual.bitPattern != expected.bitPattern { mismatches.append(x) }
        }
        for raw in 0..<0x7C00 {  // every non-negative finite half
            let here = Float(Float16(bitPattern: UInt16(raw)))
            let next = Float(Float16(bitPattern: UInt16(raw + 1)))  // 0x7C00 is +inf
            let mid = raw == 0x7BFF ? Float(65520) : (here + next) / 2  // exact in float
            for x in [here, mid, mid.nextDown, mid.nextUp] {
                check(x)
                check(-x)
            }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test func roundTripMatchesFloat16ForRandomFloats() {
        var rng = SplitMix64(seed: 2024)
        var mismatches: [Float] = []
        for _ in 0..<200_000 {
            // Any float bit pattern that is not NaN: tiny, subnormal, normal, huge, infinite.
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            if x.isNaN { continue }
            if HalfFloat.roundTrip(x).bitPattern != Float(Float16(x)).bitPattern { mismatches.append(x) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }
    #endif

    @Test(arguments: [
        (Float(0), Float(0)),
        (1e-3, 0.0010004043579101562),       // 0x1419
        (1, 1),
        (1 + 0x1p-11, 1),                   // a tie rounds to the even neighbour
        (1 + 3 * 0x1p-11, 1 + 0x1p-9),      // a tie rounds to the even neighbour (up)
        (65504, 65504),                     // the largest half
        (65519.996, 65504),
        (65520, .infinity),                 // the tie past the largest half rounds out
        (-70000, -.infinity),
        (0x1p-25, 0),                       // half the smallest subnormal: tie to even (zero)
        (0x1p-25 + 0x1p-40, 0x1p-24),       // just above it rounds up
        (1e-30, 0),
        (.infinity, .infinity),
        (-.infinity, -.infinity),
    ] as [(Float, Float)])
    func roundTripKnownValues(value: Float, expected: Float) {
        #expect(HalfFloat.roundTrip(value) == expected)
        #expect(HalfFloat.roundTrip(-value) == -expected)
    }

    @Test func roundTripKeepsSignOfZeroAndNaN() {
        #expect(HalfFloat.roundTrip(-1e-30).sign == .minus)
        #expect(HalfFloat.roundTrip(-1e-30) == 0)
        #expect(HalfFloat.roundTrip(.nan).isNaN)
    }
}
