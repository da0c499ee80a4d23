/// An `.npy` file of float16, float32 or float64 activations, opened for reading in batches of rows.
///
/// Opening reads and checks only the header and the file's size; the data is read by
/// ``forEachBatch(maxRowsPerBatch:_:)`` a batch of rows at a time, so a file of any size is read
/// in bounded memory (about one batch for C-order data).
///
/// ```swift
/// let file = try NpyFile(path: "acts.npy")            // shape (4096, 65536), '<f4'
/// var metric = try FeatureDensityMetric(numLearnedFeatures: file.header.shape[1])
/// try file.forEachBatch(maxRowsPerBatch: 256) { try metric.update($0) }
/// ```
///
/// - Byte order: big-endian files are byte-swapped to the machine's order.
/// - Fortran order: the values are transposed to C order. Because a row of a Fortran-order array is
///   scattered over the whole file, such files are read in chunks of rows of about
///   ``fortranChunkBytes`` (at least one batch), each chunk with one read per value of a row; a file
///   whose data fits in one chunk is read with a single read. Memory stays bounded for any size
///   (about ``fortranChunkBytes`` plus one batch), but it is slower than C order: measured on a
///   1 GiB float32 file of shape (4096, 65536) in the page cache, a release build read it in 0.2 s in
///   C order and 2.7 s in Fortran order. Prefer C order (`np.ascontiguousarray`) for large files.
/// - Trailing bytes after the data are accepted and ignored, as `numpy.load` ignores them;
///   ``trailingByteCount`` says how many there were.
/// - A file with zero rows is valid and yields no batches.
///
/// The file stays open until the value is released. It is `Sendable`: all its state is immutable and
/// every read is a positioned `pread`.
public final class NpyFile: Sendable {
    /// The path the file was opened from.
    public let path: String
    /// The parsed header: dtype, byte order, Fortran order, shape and data offset.
    public let header: NpyHeader
    /// How many bytes follow the data (ignored).
    public let trailingByteCount: Int

    /// The approximate size of the chunks in which Fortran-order data is read and transposed: 64 MiB.
    public static let fortranChunkBytes = 64 << 20

    private let file: PosixFile
    /// ``fortranChunkBytes``, smaller in tests so that they reach the chunked path with small files.
    private let chunkBytes: Int

    // MARK: - Opening

    /// Opens an `.npy` file and validates its header and size.
    /// - Parameter path: The file's path.
    /// - Throws: ``NpyError``: ``NpyError/unreadable(path:reason:)`` when it is missing or unreadable,
    ///   any header error of ``NpyHeader/init(parsing:path:)``, or
    ///   ``NpyError/truncatedData(path:shape:dtype:expectedBytes:foundBytes:)`` when the data is
    ///   shorter than the shape requires.
    public convenience init(path: String) throws {
        try self.init(path: path, fortranChunkBytes: Self.fortranChunkBytes)
    }

    /// Opens an `.npy` file with a chosen Fortran chunk size (for tests).
    init(path: String, fortranChunkBytes: Int) throws {
        let file = try PosixFile(path: path)
        let size = try file.size()
        let header = try NpyHeader(parsing: try NpyHeader.headerBytes(of: file, size: size, path: path), path: path)
        let available = size - header.dataOffset
        guard available >= header.dataByteCount else {
            throw NpyError.truncatedData(path: path, shape: header.shape, dtype: header.dtype,
                                         expectedBytes: header.dataByteCount, foundBytes: available)
        }
        self.path = path
        self.header = header
        self.trailingByteCount = available - header.dataByteCount
        self.file = file
        self.chunkBytes = fortranChunkBytes
    }

    // MARK: - Shape

    /// The array's shape (the same as `header.shape`).
    public var shape: [Int] { header.shape }

    /// The number of rows: the first dimension.
    public var rowCount: Int { header.shape[0] }

    /// The number of values in one row: the product of the dimensions after the first (1 for a 1-D array).
    public var rowWidth: Int { header.shape.dropFirst().reduce(1, *) }

    /// How many rows fit in a batch of about `targetBytes` bytes (at least 1).
    /// - Parameter targetBytes: The wanted size of a batch in bytes.
    /// - Returns: A row count for ``forEachBatch(maxRowsPerBatch:_:)``.
    public func rowsPerBatch(targetBytes: Int) -> Int {
        max(1, targetBytes / max(1, rowWidth * header.dtype.itemSize))
    }

    // MARK: - Reading

    /// Calls `body` with consecutive batches of rows, in order, each at most `maxRowsPerBatch` rows.
    ///
    /// Every batch but the last has exactly `maxRowsPerBatch` rows. A batch is at least one row, so a
    /// single very wide row is read whole.
    /// - Parameters:
    ///   - maxRowsPerBatch: The largest number of rows in a batch; must be positive.
    ///   - body: Called once per batch; an error it throws stops the reading and is rethrown.
    /// - Throws: ``NpyError/unreadable(path:reason:)`` on an I/O error,
    ///   ``NpyError/truncatedData(path:shape:dtype:expectedBytes:foundBytes:)`` when the file was
    ///   shortened after it was opened, or what `body` throws.
    public func forEachBatch(maxRowsPerBatch: Int, _ body: (NpyBatch) throws -> Void) throws {
        precondition(maxRowsPerBatch > 0, "maxRowsPerBatch must be positive, got \(maxRowsPerBatch)")
        let rows = rowCount
        let chunkRows = isFortranLayout ? fortranChunkRows(maxRowsPerBatch: maxRowsPerBatch) : maxRowsPerBatch
        var first = 0
        while first < rows {
            let count = min(chunkRows, rows - first)
            let chunk = try readRows(first: first, count: count)
            if count <= maxRowsPerBatch {
                try body(chunk)
            } else {
                var offset = 0
                while offset < count {
                    let batchRows = min(maxRowsPerBatch, count - offset)
                    try body(NpyBatch(firstRow: first + offset, shape: [batchRows] + shape.dropFirst(),
                                      values: chunk.values.rows(offset, count: batchRows, width: rowWidth)))
                    offset += batchRows
                }
            }
            first += count
        }
    }

    /// Reads the whole array as one batch (C order, native byte order).
    ///
    /// This holds every value in memory; use ``forEachBatch(maxRowsPerBatch:_:)`` for large files.
    /// - Returns: A batch of all ``rowCount`` rows (possibly zero).
    /// - Throws: ``NpyError/unreadable(path:reason:)`` or
    ///   ``NpyError/truncatedData(path:shape:dtype:expectedBytes:foundBytes:)``.
    public func readAll() throws -> NpyBatch {
        try readRows(first: 0, count: rowCount)
    }

    // MARK: - Internals

    /// `true` when rows are not contiguous on disk: Fortran order with two or more dimensions.
    private var isFortranLayout: Bool { header.fortranOrder && header.shape.count > 1 }

    /// The rows per Fortran chunk: all of them when the data fits ``fortranChunkBytes``, else a
    /// multiple of the batch size, so batches never straddle two chunks.
    private func fortranChunkRows(maxRowsPerBatch: Int) -> Int {
        let budgetRows = rowsPerBatch(targetBytes: chunkBytes)
        if budgetRows >= rowCount { return rowCount }
        return maxRowsPerBatch * max(1, budgetRows / maxRowsPerBatch)
    }

    private func readRows(first: Int, count: Int) throws -> NpyBatch {
        let values: NpyBatch.Values
        switch header.dtype {
        case .float16: values = .float16(try readRows(UInt16.self, first: first, count: count))
        case .float32: values = .float32(try readRows(Float.self, first: first, count: count))
        case .float64: values = .float64(try readRows(Double.self, first: first, count: count))
        }
        return NpyBatch(firstRow: first, shape: [count] + shape.dropFirst(), values: values)
    }

    /// Reads rows `first..<first + count` in C order and native byte order.
    private func readRows<T: BitwiseCopyable>(_: T.Type, first: Int, count: Int) throws -> [T] {
        let width = rowWidth
        var values = try [T](unsafeUninitializedCapacity: count * width) { buffer, initialized in
            if isFortranLayout {
                try readFortranRows(into: buffer, first: first, count: count, width: width)
            } else {
                try readElements(into: buffer, atElement: first * width)
            }
            initialized = buffer.count
        }
        if header.byteOrder != .native {
            values.withUnsafeMutableBytes { Self.swapBytes($0, itemSize: MemoryLayout<T>.size) }
        }
        return values
    }

    /// Fills `buffer` with the elements that start at element `index` of the data.
    private func readElements<T>(into buffer: UnsafeMutableBufferPointer<T>, atElement index: Int) throws {
        let raw = UnsafeMutableRawBufferPointer(buffer)
        let read = try file.read(into: raw, at: header.dataOffset + index * MemoryLayout<T>.stride)
        guard read == raw.count else {
            let found = max(0, (try file.size()) - header.dataOffset)
            throw NpyError.truncatedData(path: path, shape: header.shape, dtype: header.dtype,
                                         expectedBytes: header.dataByteCount, foundBytes: found)
        }
    }

    /// Reads rows `first..<first + count` of a Fortran-order array and writes them in C order.
    ///
    /// In Fortran order the first index varies fastest, so for each position `k` (column-major)
    /// within a row the `count` wanted values are one contiguous run at element `k * rows + first`.
    /// Each run goes to C-order index `row * width + j`, where `j` is the C-order index of the same
    /// position, kept up to date by an odometer over the row's dimensions. Runs are handled in blocks
    /// of about 16K values (read, then written row by row) so the writes stay close in memory.
    private func readFortranRows<T>(into out: UnsafeMutableBufferPointer<T>, first: Int, count: Int, width: Int) throws {
        guard count > 0, width > 0 else { return }
        let rows = rowCount
        let dimensions = Array(shape.dropFirst())
        var cStrides = [Int](repeating: 1, count: dimensions.count)
        for d in stride(from: dimensions.count - 2, through: 0, by: -1) {
            cStrides[d] = cStrides[d + 1] * dimensions[d + 1]
        }
        let whole = count == rows  // then the runs are adjacent: read them all at once
        let blockRuns = max(1, min(width, 16_384 / count))
        let scratch = UnsafeMutableBufferPointer<T>.allocate(capacity: whole ? rows * width : blockRuns * count)
        defer { scratch.deallocate() }
        if whole { try readElements(into: scratch, atElement: 0) }
        var position = [Int](repeating: 0, count: dimensions.count)
        var j = 0
        var targets = [Int](repeating: 0, count: blockRuns)  // j of each run in the block
        var k0 = 0
        while k0 < width {
            let runs = min(blockRuns, width - k0)
            for r in 0..<runs {
                targets[r] = j
                var d = 0
                while d < dimensions.count {
                    position[d] += 1
                    j += cStrides[d]
                    if position[d] < dimensions[d] { break }
                    j -= cStrides[d] * dimensions[d]
                    position[d] = 0
                    d += 1
                }
                if !whole {
                    let run = UnsafeMutableBufferPointer(rebasing: scratch[(r * count)..<((r + 1) * count)])
                    try readElements(into: run, atElement: (k0 + r) * rows + first)
                }
            }
            let runStride = whole ? rows : count
            let blockStart = whole ? k0 * rows : 0
            for row in 0..<count {
                let rowStart = row * width
                for r in 0..<runs {
                    out.initializeElement(at: rowStart + targets[r], to: scratch[blockStart + r * runStride + row])
                }
            }
            k0 += runs
        }
    }

    /// Reverses the bytes of every `itemSize`-byte element.
    private static func swapBytes(_ raw: UnsafeMutableRawBufferPointer, itemSize: Int) {
        switch itemSize {
        case 2: raw.withMemoryRebound(to: UInt16.self) { for i in $0.indices { $0[i] = $0[i].byteSwapped } }
        case 4: raw.withMemoryRebound(to: UInt32.self) { for i in $0.indices { $0[i] = $0[i].byteSwapped } }
        case 8: raw.withMemoryRebound(to: UInt64.self) { for i in $0.indices { $0[i] = $0[i].byteSwapped } }
        default: preconditionFailure("unexpected item size \(itemSize)")
        }
    }
}
