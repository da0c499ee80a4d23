import Foundation
import Testing
@testable import DensityStore

/// The chunk blob format: raw little-endian int64 with a zlib CRC-32, checked on every decode.
@Suite struct ChunkCodecTests {
    static let samples: [[Int64]] = [
        [],
        [0],
        [1, 2, 3],
        [Int64.max, 0, 1 << 40, 16_777_217, 255, 256],
    ]

    @Test(arguments: samples)
    func encodesAsLittleEndianInt64WithZlibCRC(counts: [Int64]) throws {
        let encoded = counts.withUnsafeBufferPointer { ChunkCodec.encode($0) }
        #expect(encoded.encoding == .rawInt64)
        #expect(encoded.encoding.rawValue == 1)
        #expect(encoded.data == littleEndianBytes(counts[...]))
        #expect(encoded.checksum == bitwiseCRC32(encoded.data))
        var decoded = [Int64](repeating: -1, count: counts.count)
        try encoded.data.withUnsafeBytes { blob in
            try decoded.withUnsafeMutableBufferPointer { output in
                try ChunkCodec.decode(encoding: 1, blob: blob, checksum: Int64(encoded.checksum), into: output)
            }
        }
        #expect(decoded == counts)
    }

    @Test func firstBytesAreTheLowBytes() {
        let encoded = [Int64(0x0102_0304_0506_0708)].withUnsafeBufferPointer { ChunkCodec.encode($0) }
        #expect(Array(encoded.data) == [8, 7, 6, 5, 4, 3, 2, 1])
    }

    private func decodeError(encoding: Int64 = 1, data: Data, checksum: Int64? = nil, count: Int) -> String? {
        var output = [Int64](repeating: 0, count: count)
        do {
            try data.withUnsafeBytes { blob in
                try output.withUnsafeMutableBufferPointer { out in
                    try ChunkCodec.decode(encoding: encoding, blob: blob,
                                          checksum: checksum ?? Int64(bitwiseCRC32(data)), into: out)
                }
            }
            return nil
        } catch {
            return (error as? ChunkCodec.DecodeError)?.reason ?? "\(error)"
        }
    }

    @Test func refusesDamage() throws {
        let data = littleEndianBytes([5, 6, 7][...])
        #expect(decodeError(data: data, count: 3) == nil)
        #expect(decodeError(data: data, checksum: Int64(bitwiseCRC32(data)) ^ 1, count: 3)?.contains("checksum mismatch") == true)
        #expect(decodeError(encoding: 2, data: data, count: 3)?.contains("unknown encoding 2") == true)
        #expect(decodeError(data: data, count: 4)?.contains("24 bytes, expected 32") == true)
        #expect(decodeError(data: data.prefix(23), count: 3)?.contains("23 bytes") == true)
    }
}
