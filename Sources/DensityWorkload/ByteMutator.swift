/// Seeded mutations of byte strings, for fuzzing the decoders of outside input (`.npy`,
/// `.safetensors`, chunk blobs, stream frames): bit flips, byte overwrites, truncations,
/// insertions and deletions, length and size fields set to extreme values, decimal numbers in
/// text replaced by huge or negative ones, splices of two inputs, and wholly random bytes.
///
/// ```swift
/// var mutator = ByteMutator(seed: 7)
/// for _ in 0..<10_000 { _ = try? parse(mutator.mutate(validFile)) }   // must never crash or hang
/// ```
public struct ByteMutator: Sendable {
    /// The generator; the same seed gives the same mutations.
    public var random: SplitMix64

    /// Numbers that break naive size arithmetic, as decimal text.
    public static let extremeNumbers = [
        "0", "-1", "1", "255", "65535", "65536", "2147483647", "2147483648", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "99999999999999999999999",
        "1e300", "-9223372036854775808", "1.5", "NaN",
    ]

    /// A mutator.
    /// - Parameter seed: The seed of its generator.
    public init(seed: UInt64) { random = SplitMix64(seed: seed) }

    /// A number in `0..<bound` (0 when `bound` is 0).
    public mutating func below(_ bound: Int) -> Int {
        bound <= 0 ? 0 : Int(random.next() % UInt64(bound))
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// One to four mutations of `input` (chosen at random), or, now and then, random bytes or a
    /// splice with `other`.
    /// - Parameters:
    ///   - input: A valid input.
    ///   - other: Another input to splice with, if any.
    /// - Returns: The mutated bytes.
    public mutating func mutate(_ input: [UInt8], splicingWith other: [UInt8]? = nil) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) { bytes = mutateOnce(bytes, other: other) }
        return bytes
    }

    private mutating func mutateOnce(_ input: [UInt8], other: [UInt8]?) -> [UInt8] {
        var bytes = input
        switch below(10) {
        case 0:  // flip bits
            for _ in 0...below(8) where !bytes.isEmpty { bytes[below(bytes.count)] ^= UInt8(1) << UInt8(below(8)) }
        case 1:  // overwrite bytes
            for _ in 0...below(8) where !bytes.isEmpty { bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: random.next()) }
        case 2:  // truncate
            bytes = Array(bytes.prefix(below(bytes.count + 1)))
        case 3:  // insert random bytes
            bytes.insert(contentsOf: self.bytes(1 + below(16)), at: below(bytes.count + 1))
        case 4:  // delete a range
            if !bytes.isEmpty {
                let start = below(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(16)))
            }
        case 5:  // a little-endian size field (2, 4 or 8 bytes) set to an extreme value
            let width = [2, 4, 8][below(3)]
            if bytes.count >= width {
                let at = below(min(bytes.count - width + 1, 16))  // length fields live near the start
                let value: UInt64 = [0, 1, .max, UInt64(Int64.max), 1 << 31, 1 << 32, UInt64(bytes.count), UInt64(bytes.count) + 1][below(8)]
                for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            }
        case 6:  // a decimal number in text replaced by an extreme one
            let digits = bytes.indices.filter { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
            if let at = digits.isEmpty ? nil : digits[below(digits.count)] {
                var end = at
                while end < bytes.count && bytes[end] >= 0x30 && bytes[end] <= 0x39 { end += 1 }
                bytes.replaceSubrange(at..<end, with: Array(Self.extremeNumbers[below(Self.extremeNumbers.count)].utf8))
            }
        case 7:  // splice with another input
            if let other, !other.isEmpty {
                bytes = Array(bytes.prefix(below(bytes.count + 1))) + Array(other.suffix(below(other.count + 1)))
            } else {
                bytes += self.bytes(below(32))
            }
        case 8:  // duplicate a range
            if !bytes.isEmpty {
                let start = below(bytes.count), end = min(bytes.count, start + 1 + below(64))
                bytes.insert(contentsOf: bytes[start..<end], at: below(bytes.count + 1))
            }
        default:  // wholly random
            bytes = self.bytes(below(2 * max(16, input.count)))
        }
        return bytes
    }
}
