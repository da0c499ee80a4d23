internal import CZstd

/// A zstd compression and decompression context, reused across the chunks of one operation.
///
/// Not `Sendable`: create one per operation (a checkpoint write, a query).
final class Zstd {
    /// zstd's level for chunks: fast, and most of the gain on varint streams.
    static let level: Int32 = 1

    private let compression: OpaquePointer
    private let decompression: OpaquePointer

    init() {
        compression = ZSTD_createCCtx()
        decompression = ZSTD_createDCtx()
    }

    deinit {
        ZSTD_freeCCtx(compression)
        ZSTD_freeDCtx(decompression)
    }

    /// Compresses `source` into a new buffer, with its size in the frame header.
    func compress(_ source: UnsafeRawBufferPointer) -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        return [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            let written = ZSTD_compressCCtx(compression, out.baseAddress, bound, source.baseAddress, source.count, Self.level)
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
