package import Foundation

/// Encodes and decodes one chunk of counts, and checks its checksum.
package enum ChunkCodec {
    /// Why a blob did not decode.
    package struct DecodeError: Error, Sendable {
        /// What was wrong, for ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
        package let reason: String
    }

    /// Encodes counts as raw little-endian int64.
    /// - Parameter counts: The chunk's counts.
    /// - Returns: The encoding, the blob, and its CRC-32.
    package static func encode(_ counts: UnsafeBufferPointer<Int64>) -> (encoding: ChunkEncoding, data: Data, checksum: UInt32) {
        var data = Data(count: counts.count * 8)
        data.withUnsafeMutableBytes { raw in
            for (i, value) in counts.enumerated() {
                raw.storeBytes(of: value.littleEndian, toByteOffset: i * 8, as: Int64.self)
            }
        }
        return (.rawInt64, data, CRC32.checksum(data))
    }

    /// Checks a blob's checksum and decodes it into `output`.
    /// - Parameters:
    ///   - encoding: The `chunks.encoding` id.
    ///   - blob: The stored bytes.
    ///   - checksum: The stored CRC-32.
    ///   - output: Exactly the chunk's number of counts.
    /// - Throws: ``DecodeError`` on a checksum mismatch, an unknown encoding, or a wrong length.
    package static func decode(
        encoding: Int64, blob: UnsafeRawBufferPointer, checksum: Int64,
        into output: UnsafeMutableBufferPointer<Int64>
    ) throws(DecodeError) {
        let actual = CRC32.checksum(blob)
        guard Int64(actual) == checksum else {
            throw DecodeError(reason: "checksum mismatch (stored \(checksum), computed \(actual))")
        }
        guard let kind = ChunkEncoding(rawValue: encoding) else {
            throw DecodeError(reason: "unknown encoding \(encoding); a newer density wrote it")
        }
        switch kind {
        case .rawInt64:
            guard blob.count == output.count * 8 else {
                throw DecodeError(reason: "raw chunk holds \(blob.count) bytes, expected \(output.count * 8)")
            }
            for i in 0..<output.count {
                output[i] = Int64(littleEndian: blob.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
            }
        }
    }
}
