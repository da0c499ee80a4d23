/// IEEE 754 half-precision conversions written out, so that float16 files read the same on
/// every platform (Swift's `Float16` is missing on some).
package enum HalfFloat {
    /// Widens a half-precision bit pattern to `Float`, exactly.
    /// - Parameter bits: The half's bit pattern.
    /// - Returns: The same value as a `Float` (NaN stays NaN, infinities stay infinite).
    @inline(__always)
    package static func widen(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F {  // infinity or NaN
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {  // zero or subnormal: mantissa x 2^-24, exact in Float
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Rounds a `Float` to the nearest half-precision value (ties to even) and widens it back.
    /// - Parameter value: A finite or infinite value.
    /// - Returns: The nearest value a half can hold, as a `Float`.
    package static func roundTrip(_ value: Float) -> Float {
        guard value.isFinite else { return value }
        let magnitude = abs(value)
        if magnitude >= 65520 { return value < 0 ? -.infinity : .infinity }  // rounds past the largest half
        // The spacing of halves near `magnitude`: 2^(e-10) for normals, 2^-24 for subnormals.
        let exponent = magnitude < 0x1p-14 ? -14 : Int(magnitude.exponent)
        let ulp = Float(sign: .plus, exponent: exponent - 10, significand: 1)
        let rounded = (magnitude / ulp).rounded(.toNearestOrEven) * ulp
        return value.sign == .minus ? -rounded : rounded  // -0 stays -0
    }
}
