package import Foundation

/// Encodes and decodes one chunk of counts, and checks its checksum.
///
/// Counts only grow, so the change since the previous checkpoint is small and mostly zero: a delta
/// chunk stores those changes as varints (one byte for a change below 128) and zstd squeezes the
/// runs of zeros and the repeated small values. A keyframe stores the cumulative counts the same way.
package enum ChunkCodec {
    /// Why a blob did not decode.
    package struct DecodeError: Error, Sendable {
        /// What was wrong, for ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
        package let reason: String
    }

    /// An encoded chunk.
    package struct Encoded {
        /// How `data` is laid out.
        package let encoding: ChunkEncoding
        /// The blob.
        package let data: Data
        /// CRC-32 of `data`.
        package let checksum: UInt32
        /// Whether some count was below its previous value (a delta would be negative): the
        /// caller must refuse the checkpoint.
        package var decreased = false
        /// The largest change since `previous` (0 for a keyframe): when it passes the vectors added,
        /// the caller must refuse the checkpoint.
        package var largestDelta: Int64 = 0
    }

    /// Encodes a chunk: as a delta against `previous` when given, else as a keyframe.
    ///
    /// With `rate`, a delta is stored as its residual against each feature's own rate so far
    /// (``ChunkEncoding/rateDeltaVarintZstd``): a feature that fired in 1% of the vectors before
    /// is expected to fire in about 1% of the vectors added, so what remains is smaller than the
    /// change itself. Without it, or when the previous vectors are 0 or the multiplier passes 64
    /// bits, the change itself (``ChunkEncoding/deltaVarintZstd``).
    /// - Parameters:
    ///   - counts: The chunk's cumulative counts.
    ///   - previous: The same chunk's counts at the previous checkpoint (each <= the new count).
    ///   - rate: The previous checkpoint's vectors and the vectors added since.
    ///   - zstd: The compression context.
    /// - Returns: The encoded chunk.
    static func encode(
        _ counts: UnsafeBufferPointer<Int64>, previous: UnsafeBufferPointer<Int64>?,
        rate: (previousVectors: Int64, addedVectors: Int64)? = nil, zstd: Zstd
    ) -> Encoded {
        let multiplier = rate.flatMap { Self.multiplier(previousVectors: $0.previousVectors, addedVectors: $0.addedVectors) }
        // The varints go into uninitialized scratch memory: no zero-filling of 10 bytes a count.
        // The sign and largest change are the closure's own locals, kept in registers: variables
        // captured from outside would be stored and reloaded for every count.
        let scratch = max(1, counts.count * 10 + 10)
        let (compressed, decreased, largest) = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scratch) {
            out -> ([UInt8], Bool, Int64) in
            var position = 0
            var signs: Int64 = 0
            var largest: Int64 = 0
            if let previous, let multiplier {
                position = Varint.write(multiplier, to: out, at: position)
                for i in 0..<counts.count {
                    let delta = counts[i] &- previous[i]
                    signs |= delta
                    largest = max(largest, delta)
                    let residual = delta &- Self.predicted(previous: previous[i], multiplier: multiplier)
                    position = Varint.write(Self.zigzag(residual), to: out, at: position)
                }
            } else if let previous {
                for i in 0..<counts.count {
                    let delta = counts[i] &- previous[i]
                    signs |= delta
                    largest = max(largest, delta)
                    position = Varint.write(UInt64(bitPattern: delta), to: out, at: position)
                }
            } else {
                for i in 0..<counts.count {
                    position = Varint.write(UInt64(bitPattern: counts[i]), to: out, at: position)
                }
            }
            let compressed = zstd.compress(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(out)[..<position]))
            return (compressed, signs < 0, largest)
        }
        let data = Data(compressed)
        let encoding: ChunkEncoding = previous == nil ? .varintZstd : multiplier == nil ? .deltaVarintZstd : .rateDeltaVarintZstd
        return Encoded(encoding: encoding, data: data, checksum: CRC32.checksum(data), decreased: decreased, largestDelta: largest)
    }

    /// The most bytes the varints of `count` values can take: 10 a value (a `UInt64` in LEB128),
    /// and 10 more for encoding 4's multiplier.
    static func varintBytesLimit(_ kind: ChunkEncoding, count: Int) -> Int {
        count * 10 + (kind == .rateDeltaVarintZstd ? 10 : 0)
    }

    /// Checks a rate-predicted delta's blob without the previous counts it applies to: its
    /// checksum, its zstd frame, and a multiplier followed by exactly `count` varints.
    /// - Throws: ``DecodeError`` as ``decode(encoding:blob:checksum:into:zstd:)`` does.
    static func checkRateDelta(blob: UnsafeRawBufferPointer, checksum: Int64, count: Int, zstd: Zstd) throws(DecodeError) {
        let kind = try checked(encoding: ChunkEncoding.rateDeltaVarintZstd.rawValue, blob: blob, checksum: checksum)
        let varints = try zstd.decompress(blob, limit: varintBytesLimit(kind, count: count)).get()
        try varints.withUnsafeBufferPointer { bytes throws(DecodeError) in
            var (_, position) = try Self.multiplier(kind, bytes)
            for i in 0..<count {
                guard let (_, next) = Varint.read(bytes, at: position) else {
                    throw DecodeError(reason: "varint stream ends at value \(i) of \(count)")
                }
                position = next
            }
            guard position == bytes.count else {
                throw DecodeError(reason: "\(bytes.count - position) bytes left after \(count) values")
            }
        }
    }

    // MARK: - The rate prediction (encoding 4)

    /// `(added << 32) / previous`, the 32.32 fixed-point share of the previous vectors that the
    /// added ones are; `nil` when the previous vectors are not positive or it passes 64 bits.
    static func multiplier(previousVectors: Int64, addedVectors: Int64) -> UInt64? {
        guard previousVectors > 0, addedVectors >= 0 else { return nil }
        return UInt64(exactly: (UInt128(addedVectors) << 32) / UInt128(previousVectors))
    }

    /// The change a count is predicted to make: `(previous * multiplier) >> 32`, wrapped to 64
    /// bits (a valid count's prediction is at most the vectors added).
    @inline(__always)
    static func predicted(previous: Int64, multiplier: UInt64) -> Int64 {
        Int64(truncatingIfNeeded: (UInt128(UInt64(bitPattern: previous)) &* UInt128(multiplier)) >> 32)
    }

    /// Zigzag: 0, -1, 1, -2, ... as 0, 1, 2, 3, ...
    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value &<< 1) ^ (value >> 63)) }

    /// The inverse of ``zigzag(_:)``.
    @inline(__always)
    static func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }

    /// A rate-predicted delta's change: its prediction plus the residual, in the same wrapping
    /// 64-bit arithmetic the encoder subtracted it in (no valid state wraps: its prediction is at
    /// most the vectors added); `nil` when the change is negative.
    @inline(__always)
    static func rateDelta(previous: Int64, multiplier: UInt64, residual: UInt64) -> Int64? {
        let delta = predicted(previous: previous, multiplier: multiplier) &+ unzigzag(residual)
        return delta < 0 ? nil : delta
    }

    /// Encodes counts as raw little-endian int64 (encoding 1, the schema-0001 layout).
    /// - Parameter counts: The chunk's counts.
    /// - Returns: The encoded chunk.
    package static func encodeRaw(_ counts: UnsafeBufferPointer<Int64>) -> Encoded {
        var data = Data(count: counts.count * 8)
        data.withUnsafeMutableBytes { raw in
            for (i, value) in counts.enumerated() {
                raw.storeBytes(of: value.littleEndian, toByteOffset: i * 8, as: Int64.self)
            }
        }
        return Encoded(encoding: .rawInt64, data: data, checksum: CRC32.checksum(data))
    }

    /// Checks a blob's checksum and decodes it into `output`.
    ///
    /// A keyframe (``ChunkEncoding/isAbsolute``) overwrites `output`; a delta adds to it, so
    /// `output` must then hold the same chunk's counts at the previous checkpoint.
    /// - Parameters:
    ///   - encoding: The `chunks.encoding` id.
    ///   - blob: The stored bytes.
    ///   - checksum: The stored CRC-32.
    ///   - output: Exactly the chunk's number of counts.
    ///   - zstd: A decompression context.
    /// - Throws: ``DecodeError`` on a checksum mismatch, an unknown encoding, or malformed data.
    static func decode(
        encoding: Int64, blob: UnsafeRawBufferPointer, checksum: Int64,
        into output: UnsafeMutableBufferPointer<Int64>, zstd: Zstd
    ) throws(DecodeError) {
        let kind = try checked(encoding: encoding, blob: blob, checksum: checksum)
        if kind == .rawInt64 {
            for i in 0..<output.count { output[i] = try raw(blob, at: i, count: output.count) }
            return
        }
        let varints = try zstd.decompress(blob, limit: Self.varintBytesLimit(kind, count: output.count)).get()
        try varints.withUnsafeBufferPointer { bytes throws(DecodeError) in
            var (multiplier, position) = try Self.multiplier(kind, bytes)
            for i in 0..<output.count {
                guard let (value, next) = Varint.read(bytes, at: position) else {
                    throw DecodeError(reason: "varint stream ends at value \(i) of \(output.count)")
                }
                position = next
                output[i] = try apply(kind, value, multiplier: multiplier, onto: output[i], at: i)
            }
            guard position == bytes.count else {
                throw DecodeError(reason: "\(bytes.count - position) bytes left after \(output.count) values")
            }
        }
    }

    /// Checks a blob's checksum and decodes only the values at `indexes`, onto `counts` (one per
    /// index) as ``decode(encoding:blob:checksum:into:zstd:)`` decodes onto the whole chunk: a
    /// keyframe's value replaces the count, a delta's is added to it.
    ///
    /// A trend needs one feature per checkpoint, `dead` a few per chunk: this skips the other
    /// varints by their end bytes instead of decoding them, and stops after the last index.
    /// - Parameters:
    ///   - encoding: The `chunks.encoding` id.
    ///   - blob: The stored bytes.
    ///   - checksum: The stored CRC-32.
    ///   - indexes: Positions in the chunk, ascending.
    ///   - count: How many values the chunk holds.
    ///   - counts: One count per index: at the previous checkpoint on entry (a delta, and a
    ///     rate-predicted one all the more, needs it), at this one on return.
    ///   - zstd: A decompression context.
    ///   - scratch: A buffer reused between calls.
    /// - Throws: ``DecodeError`` as ``decode(encoding:blob:checksum:into:zstd:)`` does.
    static func decode(
        encoding: Int64, blob: UnsafeRawBufferPointer, checksum: Int64, at indexes: UnsafeBufferPointer<Int>, count: Int,
        onto counts: UnsafeMutableBufferPointer<Int64>, zstd: Zstd, scratch: inout [UInt8]
    ) throws(DecodeError) {
        let kind = try checked(encoding: encoding, blob: blob, checksum: checksum)
        if kind == .rawInt64 {
            for (slot, index) in indexes.enumerated() { counts[slot] = try raw(blob, at: index, count: count) }
            return
        }
        let length = try zstd.decompress(blob, limit: Self.varintBytesLimit(kind, count: count), into: &scratch).get()
        try scratch.withUnsafeBufferPointer { all throws(DecodeError) in
            let bytes = UnsafeBufferPointer(rebasing: all[..<length])
            var (multiplier, position) = try Self.multiplier(kind, bytes)
            var skipped = 0
            let words = UnsafeRawPointer(bytes.baseAddress)
            for (slot, index) in indexes.enumerated() {
                // Skip to value `index`: each value ends at a byte below 0x80. Eight bytes at a
                // time while they end fewer values than are left to skip, then byte by byte.
                while let words, position + 8 <= bytes.count {
                    let word = words.loadUnaligned(fromByteOffset: position, as: UInt64.self).littleEndian
                    let ends = (~word & 0x8080_8080_8080_8080).nonzeroBitCount
                    guard ends < index - skipped else { break }
                    skipped &+= ends
                    position &+= 8
                }
                while skipped < index && position < bytes.count {
                    skipped &+= bytes[position] < 0x80 ? 1 : 0
                    position &+= 1
                }
                guard skipped == index, let (value, next) = Varint.read(bytes, at: position) else {
                    throw DecodeError(reason: "varint stream ends at value \(skipped) of \(count)")
                }
                (position, skipped) = (next, index + 1)
                counts[slot] = try apply(kind, value, multiplier: multiplier, onto: counts[slot], at: index)
            }
        }
    }

    // MARK: - Reading a value (the one definition every decoder uses)

    /// Checks a blob's checksum and names its encoding.
    private static func checked(encoding: Int64, blob: UnsafeRawBufferPointer, checksum: Int64) throws(DecodeError) -> ChunkEncoding {
        let actual = CRC32.checksum(blob)
        guard Int64(actual) == checksum else {
            throw DecodeError(reason: "checksum mismatch (stored \(checksum), computed \(actual))")
        }
        guard let kind = ChunkEncoding(rawValue: encoding) else {
            throw DecodeError(reason: "unknown encoding \(encoding); a newer density wrote it")
        }
        return kind
    }

    /// The count at `index` of a raw chunk (encoding 1) of `count` values.
    @inline(__always)
    private static func raw(_ blob: UnsafeRawBufferPointer, at index: Int, count: Int) throws(DecodeError) -> Int64 {
        guard blob.count == count * 8 else {
            throw DecodeError(reason: "raw chunk holds \(blob.count) bytes, expected \(count * 8)")
        }
        let value = Int64(littleEndian: blob.loadUnaligned(fromByteOffset: index * 8, as: Int64.self))
        guard value >= 0 else { throw DecodeError(reason: "negative count \(value) at value \(index)") }
        return value
    }

    /// A rate-predicted delta's multiplier (0 for other encodings) and the position of the first value.
    @inline(__always)
    private static func multiplier(_ kind: ChunkEncoding, _ bytes: UnsafeBufferPointer<UInt8>) throws(DecodeError) -> (UInt64, Int) {
        guard kind == .rateDeltaVarintZstd else { return (0, 0) }
        guard let (value, next) = Varint.read(bytes, at: 0) else {
            throw DecodeError(reason: "the rate multiplier is missing")
        }
        return (value, next)
    }

    /// The count after a varint value at `index`: a keyframe's value itself, a delta's added to
    /// `previous` (a rate-predicted one through its prediction from `previous`).
    @inline(__always)
    private static func apply(_ kind: ChunkEncoding, _ value: UInt64, multiplier: UInt64, onto previous: Int64, at index: Int)
        throws(DecodeError) -> Int64
    {
        var signed = Int64(bitPattern: value)
        if kind == .varintZstd {
            guard signed >= 0 else { throw DecodeError(reason: "negative count \(signed) at value \(index)") }
            return signed
        }
        if kind == .rateDeltaVarintZstd {
            guard let delta = Self.rateDelta(previous: previous, multiplier: multiplier, residual: value) else {
                throw DecodeError(reason: "delta at value \(index) is negative or overflows")
            }
            signed = delta
        }
        let (sum, overflow) = previous.addingReportingOverflow(signed)
        guard signed >= 0, !overflow else {
            throw DecodeError(reason: "delta \(signed) at value \(index) is negative or overflows")
        }
        guard sum >= 0 else { throw DecodeError(reason: "negative count \(sum) at value \(index)") }
        return sum
    }
}
