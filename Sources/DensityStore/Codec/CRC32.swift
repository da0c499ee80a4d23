internal import CZlib
package import Foundation

/// CRC-32 as zlib computes it (polynomial 0xEDB88320, reflected), computed by the system zlib.
///
/// Any language can check a chunk with its standard library: Python's `zlib.crc32(data)`.
package enum CRC32 {
    /// The CRC-32 of `bytes`.
    /// - Parameter bytes: The data.
    /// - Returns: The checksum, as zlib's `crc32(0, bytes, n)`.
    package static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        return UInt32(truncatingIfNeeded: crc32_z(0, base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// The CRC-32 of a byte array or `Data`.
    /// - Parameter bytes: The data.
    /// - Returns: The checksum.
    package static func checksum(_ bytes: some ContiguousBytes) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
