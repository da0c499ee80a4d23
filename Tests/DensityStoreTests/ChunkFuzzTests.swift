import DensityWorkload
import Foundation
import Testing
@testable import DensityStore

/// The chunk decoders survive damaged blobs (seeded mutations of real chunks of every encoding, with
/// the checksum recomputed so the decoder itself is reached, wrong encoding ids and wrong expected
/// counts): each either decodes exactly `expectedCount` non-negative values or throws its
/// `DecodeError`, and never allocates more than the chunk can hold.
/// `DENSITY_FUZZ_ITERATIONS=N` runs N inputs instead of 30,000.
@Suite struct ChunkFuzzTests {
    /// A valid chunk and the counts it holds (after `previous`, for a delta).
    struct Seed {
        var encoding: Int64
        var blob: [UInt8]
        var counts: [Int64]
        var previous: [Int64]
    }

    static func seeds() -> [Seed] {
        var random = SplitMix64(seed: 11)
        var seeds: [Seed] = []
        for width in [0, 1, 7, 100, 1_000] {
            let previous = (0..<width).map { _ in Int64(random.next() % 1_000_000) }
            let counts = previous.map { $0 + Int64(random.next() % 300) }
            let zstd = Zstd()
            counts.withUnsafeBufferPointer { current in
                previous.withUnsafeBufferPointer { before in
                    let raw = ChunkCodec.encodeRaw(current)
                    let keyframe = ChunkCodec.encode(current, previous: nil, zstd: zstd)
                    let delta = ChunkCodec.encode(current, previous: before, zstd: zstd)
                    let rateDelta = ChunkCodec.encode(current, previous: before, rate: (1_000_000, 300), zstd: zstd)
                    for chunk in [raw, keyframe, delta, rateDelta] {
                        seeds.append(Seed(encoding: chunk.encoding.rawValue, blob: [UInt8](chunk.data),
                                          counts: counts, previous: previous))
                    }
                }
            }
        }
        return seeds
    }

    @Test func damagedChunksOfEveryEncodingNeverCrash() throws {
        let seeds = Self.seeds()
        var mutator = ByteMutator(seed: 5)
        let count = ProcessInfo.processInfo.environment["DENSITY_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 30_000
        var decoded = 0, refused = 0, exact = 0
        let zstd = Zstd()
        var scratch: [UInt8] = []
        for i in 0..<count {
            let seed = seeds[i % seeds.count]
            let pristine = mutator.below(8) == 0
            let blob = pristine ? seed.blob : mutator.mutate(seed.blob, splicingWith: seeds[(i / 3) % seeds.count].blob)
            let encoding: Int64 = mutator.below(6) == 0
                ? [0, 1, 2, 3, 4, 99, -1, .max][mutator.below(8)] : seed.encoding
            let checksum = mutator.below(5) == 0 ? Int64(mutator.random.next() % (1 << 32)) : Int64(CRC32.checksum(blob))
            let width = seed.counts.count
            let expectedCount = mutator.below(5) == 0
                ? [0, 1, max(0, width - 1), width + 1, 2 * width, 1 << 16][mutator.below(6)] : width
            // A delta is added to the previous counts, as the store does.
            var output = (encoding == 3 || encoding == 4) && expectedCount == width ? seed.previous : [Int64](repeating: 0, count: expectedCount)
            do {
                try blob.withUnsafeBytes { bytes in
                    try output.withUnsafeMutableBufferPointer { out in
                        try ChunkCodec.decode(encoding: encoding, blob: bytes, checksum: checksum, into: out, zstd: zstd)
                    }
                }
                decoded += 1
                #expect(output.count == expectedCount && output.allSatisfy { $0 >= 0 })
                if pristine && encoding == seed.encoding && expectedCount == width && checksum == Int64(CRC32.checksum(blob)) {
                    #expect(output == seed.counts)
                    exact += 1
                }
            } catch {
                refused += 1
            }
            // The single-value reader of trends, at a random index.
            if expectedCount > 0 {
                let index = mutator.below(expectedCount)
                var value = [index < width ? seed.previous[index] : 0]
                if (try? blob.withUnsafeBytes({ bytes in
                    try [index].withUnsafeBufferPointer { indexes in
                        try value.withUnsafeMutableBufferPointer { value in
                            try ChunkCodec.decode(encoding: encoding, blob: bytes, checksum: checksum, at: indexes,
                                                  count: expectedCount, onto: value, zstd: zstd, scratch: &scratch)
                        }
                    }
                })) != nil {
                    #expect(value[0] >= 0)
                }
            }
        }
        print("fuzz: \(count) chunk blobs (encodings 1 to 4 and unknown ids), \(decoded) decoded (\(exact) pristine ones exactly), \(refused) refused")
        #expect(decoded + refused == count && refused > 0 && exact > 0)
    }

    /// Found by the fuzzer: a raw (encoding 1) chunk could decode to a negative count.
    @Test func negativeRawCountIsRefused() throws {
        let blob = [Int64(3), -5].flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let checksum = Int64(CRC32.checksum(blob))
        var output = [Int64](repeating: 0, count: 2)
        let error = #expect(throws: ChunkCodec.DecodeError.self) {
            try blob.withUnsafeBytes { bytes in
                try output.withUnsafeMutableBufferPointer { out in
                    try ChunkCodec.decode(encoding: 1, blob: bytes, checksum: checksum, into: out, zstd: Zstd())
                }
            }
        }
        #expect(error?.reason == "negative count -5 at value 1")
        var scratch: [UInt8] = []
        var value: [Int64] = [0]
        let single = #expect(throws: ChunkCodec.DecodeError.self) {
            try blob.withUnsafeBytes { bytes in
                try [1].withUnsafeBufferPointer { indexes in
                    try value.withUnsafeMutableBufferPointer { value in
                        try ChunkCodec.decode(encoding: 1, blob: bytes, checksum: checksum, at: indexes, count: 2, onto: value,
                                              zstd: Zstd(), scratch: &scratch)
                    }
                }
            }
        }
        #expect(single?.reason == error?.reason)  // one wording, whichever reader finds it
    }

    @Test func aZstdBombIsRefusedBeforeAnyAllocation() throws {
        // 64 MiB of zeros compress to a few KiB; the chunk holds 100 counts (at most 1,000 bytes).
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        let frame = zeros.withUnsafeBytes { Zstd().compress($0) }
        #expect(frame.count < 1 << 16)
        var output = [Int64](repeating: 0, count: 100)
        let error = #expect(throws: ChunkCodec.DecodeError.self) {
            try frame.withUnsafeBytes { bytes in
                try output.withUnsafeMutableBufferPointer { out in
                    try ChunkCodec.decode(encoding: 2, blob: bytes, checksum: Int64(CRC32.checksum(bytes)), into: out, zstd: Zstd())
                }
            }
        }
        #expect(error?.reason.contains("declares \(64 << 20) bytes, more than the chunk can hold (1000)") == true)
    }
}
