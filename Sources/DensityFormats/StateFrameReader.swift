#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the frames of a state stream, the format `density record` reads on stdin.
///
/// A stream is a sequence of frames; each frame is an 8-byte little-endian unsigned length `N`
/// followed by `N` bytes, one complete `.safetensors` file holding the metric's state (what
/// `safetensors.torch.save(...)` or `safetensors.numpy.save(...)` return). In Python:
///
/// ```python
/// payload = safetensors.numpy.save({"neuron_fired_count": counts, "num_activation_vectors": n, "step": s})
/// pipe.write(struct.pack("<Q", len(payload)) + payload)
/// ```
///
/// The stream may end only between frames. A frame whose length exceeds ``maxFrameBytes`` is
/// refused before its bytes are read, and a frame's buffer grows only as its bytes arrive, so a
/// corrupt length never allocates more than the bytes actually sent.
public struct StateFrameReader {
    /// The bytes of a frame's length prefix.
    public static let prefixBytes = 8
    /// The default bound on one frame: 1 GiB, room for 128M int64 counts (e.g. 8 components of
    /// 16M features).
    public static let defaultMaxFrameBytes = 1 << 30
    /// The largest bound a caller may set: 16 GiB.
    public static let maxFrameBytesLimit = 1 << 34

    /// Where the frames come from, for messages (e.g. `stdin`).
    public let source: String
    /// The largest frame accepted, in bytes (after the length prefix).
    public let maxFrameBytes: Int
    /// Frames read so far.
    public private(set) var frameCount = 0
    /// Bytes consumed so far: where the next frame starts.
    public private(set) var offset = 0
    private let readSome: (UnsafeMutableRawBufferPointer) throws -> Int

    /// A reader of a file descriptor (such as `STDIN_FILENO`); the caller keeps it open.
    /// - Parameters:
    ///   - descriptor: The descriptor to read.
    ///   - source: A name for messages.
    ///   - maxFrameBytes: The largest frame accepted, 1 to ``maxFrameBytesLimit``.
    public init(descriptor: Int32, source: String, maxFrameBytes: Int = Self.defaultMaxFrameBytes) {
        self.init(source: source, maxFrameBytes: maxFrameBytes) { buffer in
            while true {
                let result = read(descriptor, buffer.baseAddress!, buffer.count)
                if result >= 0 { return result }
                if errno == EINTR { continue }
                throw StateFrameError.unreadable(source: source, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// A reader of bytes in memory, as tests and fuzzers use it.
    /// - Parameters:
    ///   - bytes: The whole stream.
    ///   - source: A name for messages.
    ///   - maxFrameBytes: The largest frame accepted.
    public init(bytes: [UInt8], source: String = "<memory>", maxFrameBytes: Int = Self.defaultMaxFrameBytes) {
        var position = 0
        self.init(source: source, maxFrameBytes: maxFrameBytes) { buffer in
            let count = min(buffer.count, bytes.count - position)
            bytes.withUnsafeBytes { all in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[position..<(position + count)]))
            }
            position += count
            return count
        }
    }

    private init(source: String, maxFrameBytes: Int, readSome: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.source = source
        self.maxFrameBytes = min(max(1, maxFrameBytes), Self.maxFrameBytesLimit)
        self.readSome = readSome
    }

    /// Reads the next frame's payload.
    /// - Returns: The frame's bytes, or `nil` when the stream ended cleanly between frames.
    /// - Throws: ``StateFrameError/truncated(source:frame:offset:expected:received:)`` when it ends
    ///   inside a frame, ``StateFrameError/tooLarge(source:frame:offset:length:limit:)``, or
    ///   ``StateFrameError/unreadable(source:reason:)``.
    public mutating func next() throws -> [UInt8]? {
        let frame = frameCount + 1
        var prefix = [UInt8](repeating: 0, count: Self.prefixBytes)
        let prefixRead = try fill(&prefix, from: 0)
        if prefixRead == 0 { return nil }
        guard prefixRead == Self.prefixBytes else {
            throw StateFrameError.truncated(source: source, frame: frame, offset: offset,
                                            expected: Self.prefixBytes, received: prefixRead)
        }
        let length = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(maxFrameBytes) else {
            throw StateFrameError.tooLarge(source: source, frame: frame, offset: offset, length: length, limit: maxFrameBytes)
        }
        let total = Int(length)
        // Grow the buffer as bytes arrive: a wrong length costs at most twice what was sent.
        var payload = [UInt8](repeating: 0, count: min(total, 1 << 20))
        var received = 0
        while received < total {
            if received == payload.count {
                payload.append(contentsOf: repeatElement(0, count: min(total - payload.count, payload.count)))
            }
            let got = try fill(&payload, from: received)
            if got == 0 {
                throw StateFrameError.truncated(source: source, frame: frame, offset: offset,
                                                expected: Self.prefixBytes + total, received: Self.prefixBytes + received)
            }
            received += got
        }
        frameCount = frame
        offset += Self.prefixBytes + total
        return payload
    }

    /// Reads into `buffer[start...]` until it is full or the stream ends; returns the bytes read.
    private func fill(_ buffer: inout [UInt8], from start: Int) throws -> Int {
        var done = start
        while done < buffer.count {
            let got = try buffer.withUnsafeMutableBytes { raw in
                try readSome(UnsafeMutableRawBufferPointer(rebasing: raw[done...]))
            }
            if got == 0 { break }
            done += got
        }
        return done - start
    }

    /// A frame: the length prefix followed by the payload, as a writer sends it.
    /// - Parameter payload: A `.safetensors` file's bytes.
    /// - Returns: The framed bytes.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt64(payload.count).littleEndian, Array.init) + payload
    }
}
