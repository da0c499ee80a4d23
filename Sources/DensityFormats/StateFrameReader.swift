internal import DensityMetric

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
        guard let total = try nextLength() else { return nil }
        var payload = Payload(reader: self, total: total)
        let bytes = try payload.bytes(total)
        endFrame(total)
        return bytes
    }

    /// Reads the next frame as a metric state, without holding the frame's bytes: int64 counts go
    /// from the stream straight into the counts' own memory (the one copy a state needs), other
    /// layouts through ``SafetensorsFile`` as ``next()`` and ``TorchMetricsState/init(file:)`` do.
    ///
    /// A frame whose content is refused is read to its end, so the stream can go on.
    /// - Returns: `nil` when the stream ended cleanly between frames; else the state, or why the
    ///   frame's content is not one (a ``SafetensorsError``), named as `<source> frame <n>`.
    /// - Throws: What ``next()`` throws: the stream itself cannot be read further.
    public mutating func nextState() throws -> Result<TorchMetricsState, any Error>? {
        guard let total = try nextLength() else { return nil }
        var payload = Payload(reader: self, total: total)
        let state = try payload.state(source: "\(source) frame \(frameCount + 1)")
        endFrame(total)
        return state
    }

    /// Reads a whole `.safetensors` state of `length` bytes from the stream, as ``nextState()``
    /// reads a frame's payload (a file opened with ``init(descriptor:source:maxFrameBytes:)``).
    /// - Parameter length: The file's size.
    /// - Note: It counts as no frame (``frameCount`` and ``offset`` stay).
    /// - Returns: The state.
    /// - Throws: ``SafetensorsError`` naming ``source``, or ``StateFrameError`` when it ends early.
    public mutating func readState(length: Int) throws -> TorchMetricsState {
        var payload = Payload(reader: self, total: length)
        return try payload.state(source: source).get()
    }

    /// Reads the rest of the stream, however long, into a buffer that grows as bytes arrive.
    /// - Note: It counts as no frame (``frameCount`` and ``offset`` stay).
    /// - Returns: The bytes.
    /// - Throws: ``StateFrameError/unreadable(source:reason:)``.
    public func readToEnd() throws -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = try buffer.withUnsafeMutableBytes { try fill($0) }
            bytes += buffer[..<got]
            if got < buffer.count { return bytes }
        }
    }

    /// Reads a frame's length prefix: `nil` at a clean end of the stream.
    private mutating func nextLength() throws -> Int? {
        let frame = frameCount + 1
        var prefix = [UInt8](repeating: 0, count: Self.prefixBytes)
        let prefixRead = try prefix.withUnsafeMutableBytes { try fill($0) }
        if prefixRead == 0 { return nil }
        guard prefixRead == Self.prefixBytes else {
            throw StateFrameError.truncated(source: source, frame: frame, offset: offset,
                                            expected: Self.prefixBytes, received: prefixRead)
        }
        let length = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(maxFrameBytes) else {
            throw StateFrameError.tooLarge(source: source, frame: frame, offset: offset, length: length, limit: maxFrameBytes)
        }
        return Int(length)
    }

    /// Counts a frame of `total` payload bytes as read.
    private mutating func endFrame(_ total: Int) {
        frameCount += 1
        offset += Self.prefixBytes + total
    }

    /// Reads into `buffer` until it is full or the stream ends; returns the bytes read.
    fileprivate func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let got = try readSome(UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if got == 0 { break }
            done += got
        }
        return done
    }

    /// One frame's payload of `total` bytes, read in order: a frame that ends early throws
    /// ``StateFrameError/truncated(source:frame:offset:expected:received:)``.
    private struct Payload {
        /// How many counts are read and range-checked at a time: 32,768 (256 KiB), which stay in
        /// a core's cache between the two.
        static let checkedPieceCounts = 32_768

        let reader: StateFrameReader
        let total: Int
        /// Payload bytes read so far.
        private(set) var received = 0

        init(reader: StateFrameReader, total: Int) {
            self.reader = reader
            self.total = total
        }

        /// Fills `buffer` from the stream.
        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws {
            let got = try reader.fill(buffer)
            received += got
            if got < buffer.count {
                throw StateFrameError.truncated(source: reader.source, frame: reader.frameCount + 1, offset: reader.offset,
                                                expected: StateFrameReader.prefixBytes + total,
                                                received: StateFrameReader.prefixBytes + received)
            }
        }

        /// The next `count` bytes. The buffer grows as bytes arrive: a wrong length costs at most
        /// twice what was sent.
        mutating func bytes(_ count: Int) throws -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: min(count, 1 << 20))
            var done = 0
            while done < count {
                if done == bytes.count {
                    bytes.append(contentsOf: repeatElement(0, count: min(count - bytes.count, bytes.count)))
                }
                try bytes.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[done...])) }
                done = bytes.count
            }
            return bytes
        }

        /// Reads and drops the rest of the payload.
        mutating func skipRest() throws {
            var scratch = [UInt8](repeating: 0, count: min(total - received, 1 << 20))
            while received < total {
                let count = min(scratch.count, total - received)
                try scratch.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<count])) }
            }
        }

        /// The whole payload as a state; a refused payload is read to its end first.
        mutating func state(source: String) throws -> Result<TorchMetricsState, any Error> {
            let lengthBytes = SafetensorsFile.headerLengthBytes
            guard total >= lengthBytes else { return try whole(source: source, start: []) }
            let start = try bytes(lengthBytes)
            let headerLength = start.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            guard headerLength <= UInt64(SafetensorsFile.maxHeaderBytes), lengthBytes + Int(headerLength) <= total else {
                return try whole(source: source, start: start)  // refused with the file's own message
            }
            let header = try bytes(Int(headerLength))
            let dataCount = total - lengthBytes - header.count
            var tensors: [String: SafetensorsFile.Tensor], metadata: [String: String]
            do {
                (tensors, metadata) = try SafetensorsFile.parseHeader(header[...], dataCount: dataCount, source: source)
            } catch {
                try skipRest()
                return .failure(error)
            }
            // int64 counts that no other tensor shares: read them into their own array, and the
            // rest of the data section (a few scalars) around them.
            if let counts = tensors[TorchMetricsState.countsName], counts.dtype == "I64",
               !tensors.contains(where: { $0.key != TorchMetricsState.countsName && $0.value.range.overlaps(counts.range) }) {
                var data = try bytes(counts.range.lowerBound)
                // Piece by piece, each range-checked (its largest count) while it is in cache: no
                // later pass over the whole state reads it back from memory to check it.
                var largest: UInt64 = 0
                let values = try [Int64](unsafeUninitializedCapacity: counts.elementCount) { buffer, initialized in
                    for start in stride(from: 0, to: buffer.count, by: Self.checkedPieceCounts) {
                        let end = min(start + Self.checkedPieceCounts, buffer.count)
                        let piece = UnsafeMutableBufferPointer(rebasing: buffer[start..<end])
                        try read(into: UnsafeMutableRawBufferPointer(piece))
                        for i in piece.indices { piece[i] = Int64(littleEndian: piece[i]) }
                        largest = max(largest, DensityState.largestCount(UnsafeBufferPointer(piece)))
                        initialized = start + piece.count
                    }
                }
                data += try bytes(dataCount - counts.range.upperBound)
                for (name, tensor) in tensors {
                    if name == TorchMetricsState.countsName {
                        tensors[name] = SafetensorsFile.Tensor(dtype: tensor.dtype, shape: tensor.shape, range: 0..<0)
                    } else if tensor.range.lowerBound >= counts.range.upperBound {
                        tensors[name] = SafetensorsFile.Tensor(dtype: tensor.dtype, shape: tensor.shape,
                                                               range: tensor.range.lowerBound - counts.range.count
                                                                   ..< tensor.range.upperBound - counts.range.count)
                    }
                }
                let file = SafetensorsFile(source: source, tensors: tensors, metadata: metadata, data: data)
                return Result { try TorchMetricsState(file: file, counts: values, largestCount: largest) }
            }
            let file = SafetensorsFile(source: source, tensors: tensors, metadata: metadata, data: try bytes(dataCount))
            return Result { try TorchMetricsState(file: file) }
        }

        /// The rest of the payload after `start`, parsed as a whole file.
        private mutating func whole(source: String, start: [UInt8]) throws -> Result<TorchMetricsState, any Error> {
            let all = start + (try bytes(total - received))
            return Result { try TorchMetricsState(file: SafetensorsFile(bytes: all, source: source)) }
        }
    }

    /// A frame: the length prefix followed by the payload, as a writer sends it.
    /// - Parameter payload: A `.safetensors` file's bytes.
    /// - Returns: The framed bytes.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt64(payload.count).littleEndian, Array.init) + payload
    }
}
