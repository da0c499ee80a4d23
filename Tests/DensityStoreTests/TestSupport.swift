// Test support for the store's suites: temporary files, raw bytes, a seeded generator, random
// cumulative states, and a bit-by-bit CRC-32 written from the definition (not the table code).
import Foundation
import DensityMetric

/// A fresh path under the temporary directory; `body` runs with it, then the file and its
/// SQLite companions (-wal, -shm, -journal) are removed.
func withTemporaryPath<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("density-test-\(UUID().uuidString).sqlite").path
    defer {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }
    return try body(path)
}

/// The bytes of a file, to prove a refused file was left exactly as it was.
func fileBytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
}

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

/// `count` cumulative states of one run: vectors and every count only grow, counts stay within
/// the vectors seen, and some counts pass 2^32 so 64-bit storage is exercised.
func randomCumulativeStates(
    features: Int, components: Int?, count: Int, using rng: inout SplitMix64
) throws -> [DensityState] {
    let width = (components ?? 1) * features
    var counts = [Int64](repeating: 0, count: width)
    var vectors: Int64 = 0
    var nonFinite: Int64 = 0
    var states: [DensityState] = []
    for _ in 0..<count {
        let batch = Int64.random(in: 1...(1 << 33), using: &rng)
        vectors += batch
        nonFinite += Int64.random(in: 0...3, using: &rng)
        for i in 0..<width {
            switch rng.next() % 4 {
            case 0: break                                          // a dead feature this window
            case 1: counts[i] += batch                             // fired on every vector
            default: counts[i] += Int64.random(in: 0...batch, using: &rng)
            }
        }
        states.append(try DensityState(features: features, components: components, counts: counts,
                                       vectors: vectors, nonFinite: nonFinite))
    }
    return states
}

/// CRC-32 (zlib's: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), one bit
/// at a time, straight from the definition.
func bitwiseCRC32<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
        }
    }
    return ~crc
}

/// Counts as the store's raw encoding lays them out: little-endian int64, one after the other.
func littleEndianBytes(_ counts: ArraySlice<Int64>) -> Data {
    var data = Data()
    for value in counts {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
    return data
}
