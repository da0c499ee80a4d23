internal import CZstd

/// A zstd compression and decompression context, reused across the chunks of one operation.
///
/// Not `Sendable`: create one per operation (a checkpoint write, a query).
final class Zstd {
    /// zstd's level for chunks: fast, and most of the gain on varint streams.
    static let level: Int32 = 1
    /// Matches of at least 7 bytes, in a 16 KiB window, from a 64-entry hash table: varint
    /// streams of counts hold few long repeats, so nearly all the gain is the entropy coding of
    /// their bytes, and a larger table or the shorter searches of level 1 cost time and gain
    /// nothing. On the benchmark's deltas (`zstd -b` over one state's chunks) this compresses
    /// about 2x faster than plain level 1 (388 against 190 MB/s), to 6% fewer bytes; the 64-entry
    /// table alone is 1.35x faster than 4,096 entries, at the same size.
    static let parameters: [(ZSTD_cParameter, Int32)] = [
        (ZSTD_c_compressionLevel, level), (ZSTD_c_windowLog, 14), (ZSTD_c_hashLog, 6),
        (ZSTD_c_searchLog, 1), (ZSTD_c_minMatch, 7),
    ]

    private let compression: OpaquePointer
    private let decompression: OpaquePointer

    init() {
        compression = ZSTD_createCCtx()
        decompression = ZSTD_createDCtx()
        for (parameter, value) in Self.parameters {
            let result = ZSTD_CCtx_setParameter(compression, parameter, value)
            precondition(ZSTD_isError(result) == 0, "zstd parameter \(parameter) = \(value): \(String(cString: ZSTD_getErrorName(result)))")
        }
    }

    deinit {
        ZSTD_freeCCtx(compression)
        ZSTD_freeDCtx(decompression)
    }

    /// Compresses `source` into a new buffer, with its size in the frame header.
    func compress(_ source: UnsafeRawBufferPointer) -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        return [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            let written = ZSTD_compress2(compression, out.baseAddress, bound, source.baseAddress, source.count)
            precondition(ZSTD_isError(written) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
            count = written
        }
    }

    /// Decompresses a frame whose content size is at most `limit` bytes into a reused buffer.
    /// - Returns: The content's length (the buffer may be longer), or why it failed.
    func decompress(_ frame: UnsafeRawBufferPointer, limit: Int, into buffer: inout [UInt8]) -> Result<Int, ChunkCodec.DecodeError> {
        let size = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        if size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN {
            return .failure(.init(reason: "not a zstd frame with a known size"))
        }
        guard size <= UInt64(limit) else {
            return .failure(.init(reason: "zstd frame declares \(size) bytes, more than the chunk can hold (\(limit))"))
        }
        if buffer.count < Int(size) { buffer = [UInt8](repeating: 0, count: Int(size)) }
        let written = buffer.withUnsafeMutableBytes { out in
            ZSTD_decompressDCtx(decompression, out.baseAddress, Int(size), frame.baseAddress, frame.count)
        }
        if ZSTD_isError(written) != 0 {
            return .failure(.init(reason: "zstd: \(String(cString: ZSTD_getErrorName(written)))"))
        }
        guard written == Int(size) else {
            return .failure(.init(reason: "zstd frame decoded to \(written) bytes, its header says \(size)"))
        }
        return .success(written)
    }

    /// Decompresses a frame whose content size is at most `limit` bytes.
    /// - Returns: The content, or a reason it could not be decompressed.
    func decompress(_ frame: UnsafeRawBufferPointer, limit: Int) -> Result<[UInt8], ChunkCodec.DecodeError> {
        let size = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        if size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN {
            return .failure(.init(reason: "not a zstd frame with a known size"))
        }
        guard size <= UInt64(limit) else {
            return .failure(.init(reason: "zstd frame declares \(size) bytes, more than the chunk can hold (\(limit))"))
        }
        var output = [UInt8](repeating: 0, count: Int(size))
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_decompressDCtx(decompression, out.baseAddress, out.count, frame.baseAddress, frame.count)
        }
        if ZSTD_isError(written) != 0 {
            return .failure(.init(reason: "zstd: \(String(cString: ZSTD_getErrorName(written)))"))
        }
        guard written == Int(size) else {
            return .failure(.init(reason: "zstd frame decoded to \(written) bytes, its header says \(size)"))
        }
        return .success(output)
    }
}

@available(*, unavailable)
extension Zstd: Sendable {}
