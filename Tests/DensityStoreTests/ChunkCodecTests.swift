import DensityWorkload
import Foundation
import Testing
@testable import DensityStore

/// Every chunk encoding round-trips exactly, keyframes and deltas alike, and damage is refused.
@Suite struct ChunkCodecTests {
    /// Adversarial and random count vectors, each a (previous, current) pair with current >= previous.
    static let pairs: [(name: String, previous: [Int64], current: [Int64])] = {
        var generator = SplitMix64(seed: 99)
        let n = 1_000
        let huge = Int64.max - 1_000
        var random = (0..<n).map { _ in Int64(generator.next() % 1_000_000) }
        let randomNext = random.map { $0 + Int64(generator.next() % 50) }
        let manyMagnitudes = (0..<n).map { i in Int64(bitPattern: generator.next() >> UInt64(i % 64)) & Int64.max }
        random[0] = 0
        return [
            ("empty", [], []),
            ("all zeros", [Int64](repeating: 0, count: n), [Int64](repeating: 0, count: n)),
            ("all maxed", [Int64](repeating: .max, count: n), [Int64](repeating: .max, count: n)),
            ("zero to max", [Int64](repeating: 0, count: n), [Int64](repeating: .max, count: n)),
            ("near 2^63", [Int64](repeating: huge, count: n), (0..<n).map { huge + Int64($0 % 1_000) }),
            ("one-hot", [Int64](repeating: 0, count: n), (0..<n).map { $0 == 417 ? 1 : 0 }),
            ("alternating", (0..<n).map { $0 % 2 == 0 ? 0 : 1 << 40 }, (0..<n).map { $0 % 2 == 0 ? 127 : (1 << 40) + 128 }),
            ("varint edges", [Int64](repeating: 0, count: 10), [0, 127, 128, 16_383, 16_384, 1 << 21, 1 << 28, 1 << 35, 1 << 56, 1 << 62]),
            ("random", random, randomNext),
            ("every magnitude", [Int64](repeating: 0, count: n), manyMagnitudes),
        ]
    }()

    private func decode(_ encoded: ChunkCodec.Encoded, startingFrom start: [Int64], zstd: Zstd) throws -> [Int64] {
        var output = start
        try encoded.data.withUnsafeBytes { blob in
            try output.withUnsafeMutableBufferPointer { out in
                try ChunkCodec.decode(encoding: encoded.encoding.rawValue, blob: blob,
                                      checksum: Int64(encoded.checksum), into: out, zstd: zstd)
            }
        }
        return output
    }

    /// Rates to predict `previous` from: vectors as large as its largest count, plus as many
    /// again, a tenth as many, or none; and the largest previous vectors a store allows.
    static func rates(_ previous: [Int64]) -> [(previousVectors: Int64, addedVectors: Int64)] {
        let vectors = max(1, previous.max() ?? 1)
        return [(vectors, vectors), (vectors, vectors / 10), (vectors, 0), (StoreLimits.maxCount, 4096)]
    }

    @Test(arguments: pairs.indices)
    func everyEncodingRoundTrips(index: Int) throws {
        let (name, previous, current) = Self.pairs[index]
        let zstd = Zstd()
        // Keyframe: decodes to the counts whatever the buffer held.
        let keyframe = current.withUnsafeBufferPointer { ChunkCodec.encode($0, previous: nil, zstd: zstd) }
        #expect(keyframe.encoding == .varintZstd, "\(name)")
        #expect(keyframe.checksum == bitwiseCRC32(keyframe.data), "\(name)")
        #expect(try decode(keyframe, startingFrom: [Int64](repeating: 42, count: current.count), zstd: zstd) == current, "\(name)")
        // Delta: decodes onto the previous counts.
        let delta = current.withUnsafeBufferPointer { now in
            previous.withUnsafeBufferPointer { before in ChunkCodec.encode(now, previous: before, zstd: zstd) }
        }
        #expect(delta.encoding == .deltaVarintZstd, "\(name)")
        #expect(try decode(delta, startingFrom: previous, zstd: zstd) == current, "\(name)")
        // Rate-predicted delta: the same counts back, whatever the rate.
        for rate in Self.rates(previous) {
            let predicted = current.withUnsafeBufferPointer { now in
                previous.withUnsafeBufferPointer { before in ChunkCodec.encode(now, previous: before, rate: rate, zstd: zstd) }
            }
            #expect(predicted.encoding == .rateDeltaVarintZstd, "\(name), rate \(rate)")
            #expect(!predicted.encoding.isAbsolute && predicted.largestDelta == delta.largestDelta)
            #expect(try decode(predicted, startingFrom: previous, zstd: zstd) == current, "\(name), rate \(rate)")
        }
        // Raw (schema 0001): little-endian int64.
        let raw = current.withUnsafeBufferPointer { ChunkCodec.encodeRaw($0) }
        #expect(raw.data == littleEndianBytes(current[...]), "\(name)")
        #expect(try decode(raw, startingFrom: [Int64](repeating: 7, count: current.count), zstd: zstd) == current, "\(name)")
    }

    @Test(arguments: pairs.indices)
    func someValuesReadAsTheWholeDecode(index: Int) throws {
        let (name, previous, current) = Self.pairs[index]
        guard !current.isEmpty else { return }
        let zstd = Zstd()
        var scratch: [UInt8] = []
        let keyframe = current.withUnsafeBufferPointer { ChunkCodec.encode($0, previous: nil, zstd: zstd) }
        let delta = current.withUnsafeBufferPointer { now in
            previous.withUnsafeBufferPointer { before in ChunkCodec.encode(now, previous: before, zstd: zstd) }
        }
        let raw = current.withUnsafeBufferPointer { ChunkCodec.encodeRaw($0) }
        let predicted = current.withUnsafeBufferPointer { now in
            previous.withUnsafeBufferPointer { before in
                ChunkCodec.encode(now, previous: before, rate: Self.rates(previous)[0], zstd: zstd)
            }
        }
        for position in Set([0, 1, current.count / 2, current.count - 1]).filter({ $0 < current.count }) {
            for encoded in [keyframe, delta, predicted, raw] {
                // Decoded onto the previous count, as the store does: every encoding gives the current count.
                var read = [previous[position]]
                try encoded.data.withUnsafeBytes { blob in
                    try [position].withUnsafeBufferPointer { indexes in
                        try read.withUnsafeMutableBufferPointer { read in
                            try ChunkCodec.decode(encoding: encoded.encoding.rawValue, blob: blob, checksum: Int64(encoded.checksum),
                                                  at: indexes, count: current.count, onto: read, zstd: zstd, scratch: &scratch)
                        }
                    }
                }
                #expect(read == [current[position]], "\(name) at \(position), encoding \(encoded.encoding)")
            }
        }
        // Random ascending sets of positions at once, as `dead` reads them: neighbours, runs of
        // skipped varints shorter and longer than eight bytes, the last one.
        var generator = SplitMix64(seed: UInt64(17 + index))
        for _ in 0..<20 {
            let positions = (0..<Int(generator.next() % 12 + 1)).map { _ in Int(generator.next() % UInt64(current.count)) }
            let sorted = Array(Set(positions + (generator.next() % 3 == 0 ? [current.count - 1] : []))).sorted()
            for encoded in [keyframe, delta, predicted, raw] {
                var read = sorted.map { previous[$0] }
                try encoded.data.withUnsafeBytes { blob in
                    try sorted.withUnsafeBufferPointer { indexes in
                        try read.withUnsafeMutableBufferPointer { read in
                            try ChunkCodec.decode(encoding: encoded.encoding.rawValue, blob: blob, checksum: Int64(encoded.checksum),
                                                  at: indexes, count: current.count, onto: read, zstd: zstd, scratch: &scratch)
                        }
                    }
                }
                #expect(read == sorted.map { current[$0] }, "\(name) at \(sorted), encoding \(encoded.encoding)")
            }
        }
    }

    @Test func deltasOfSlowlyGrowingCountsAreSmall() throws {
        // 4096 counts that grew by 0...9: a delta needs about a byte per count or less, 8x under raw.
        var generator = SplitMix64(seed: 5)
        let previous = (0..<4096).map { _ in Int64(generator.next() % 10_000_000) }
        let current = previous.map { $0 + Int64(generator.next() % 10) }
        let zstd = Zstd()
        let delta = current.withUnsafeBufferPointer { now in
            previous.withUnsafeBufferPointer { before in ChunkCodec.encode(now, previous: before, zstd: zstd) }
        }
        #expect(delta.data.count <= 4096)
        #expect(delta.data.count * 8 < current.count * 8)
        #expect(try decode(delta, startingFrom: previous, zstd: zstd) == current)
    }

    @Test func firstBytesOfARawChunkAreTheLowBytes() {
        let encoded = [Int64(0x0102_0304_0506_0708)].withUnsafeBufferPointer { ChunkCodec.encodeRaw($0) }
        #expect(Array(encoded.data) == [8, 7, 6, 5, 4, 3, 2, 1])
    }

    private func decodeError(encoding: Int64, data: Data, checksum: Int64? = nil, count: Int, start: Int64 = 0) -> String? {
        var output = [Int64](repeating: start, count: count)
        do {
            try data.withUnsafeBytes { blob in
                try output.withUnsafeMutableBufferPointer { out in
                    try ChunkCodec.decode(encoding: encoding, blob: blob,
                                          checksum: checksum ?? Int64(bitwiseCRC32(data)), into: out, zstd: Zstd())
                }
            }
            return nil
        } catch {
            return (error as? ChunkCodec.DecodeError)?.reason ?? "\(error)"
        }
    }

    @Test func refusesDamage() throws {
        let raw = littleEndianBytes([5, 6, 7][...])
        #expect(decodeError(encoding: 1, data: raw, count: 3) == nil)
        #expect(decodeError(encoding: 1, data: raw, checksum: Int64(bitwiseCRC32(raw)) ^ 1, count: 3)?.contains("checksum mismatch") == true)
        #expect(decodeError(encoding: 9, data: raw, count: 3)?.contains("unknown encoding 9") == true)
        #expect(decodeError(encoding: 1, data: raw, count: 4)?.contains("24 bytes, expected 32") == true)
        #expect(decodeError(encoding: 1, data: raw.prefix(23), count: 3)?.contains("23 bytes") == true)

        let zstd = Zstd()
        let counts: [Int64] = [1, 200, 70_000]
        let keyframe = counts.withUnsafeBufferPointer { ChunkCodec.encode($0, previous: nil, zstd: zstd) }
        #expect(decodeError(encoding: 2, data: keyframe.data, count: 3) == nil)
        // Fewer or more values than the chunk holds.
        #expect(decodeError(encoding: 2, data: keyframe.data, count: 4)?.contains("ends at value 3") == true)
        #expect(decodeError(encoding: 2, data: keyframe.data, count: 2)?.contains("left after") == true)
        // Not a zstd frame at all (with a matching checksum, so the decoder itself must notice).
        #expect(decodeError(encoding: 2, data: Data([1, 2, 3, 4, 5, 6, 7, 8, 9]), count: 3)?.contains("zstd") == true)
        // A delta that would overflow the previous counts.
        let delta = [Int64(1)].withUnsafeBufferPointer { ChunkCodec.encode($0, previous: nil, zstd: zstd) }
        #expect(decodeError(encoding: 3, data: delta.data, count: 1, start: .max)?.contains("overflows") == true)
    }
}
