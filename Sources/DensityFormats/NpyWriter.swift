/// Writes one array as an `.npy` file, format version 1.0, byte for byte as `numpy.save` writes it.
///
/// The layout (numpy's `numpy.lib.format`):
///
/// | bytes | content |
/// |---|---|
/// | 6 | the magic `\x93NUMPY` |
/// | 2 | the version, `1 0` |
/// | 2 | `HEADER_LEN`, little-endian `u16`: the length of the dict with its padding |
/// | `HEADER_LEN` | `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 6), }`, spaces, `\n` |
/// | rest | the values, C order (row-major), little-endian |
///
/// Like numpy, the dict is followed by spaces that leave room for the first dimension to grow to 21
/// digits, then by more spaces and a newline so that the data starts at a multiple of 64 bytes (a
/// header that would already end on one gets 64 more, as numpy's `_wrap_header` does).
///
/// ```swift
/// let writer = try NpyWriter(.int64(state.counts), shape: state.shape)   // '<i8', (2, 4096)
/// try writer.write { chunk in try file.write(chunk) }                    // or writer.bytes()
/// ```
///
/// Related numpy documentation: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>
public struct NpyWriter: Sendable, Hashable {
    /// The array's shape; `[]` is a 0-d (scalar) array.
    public let shape: [Int]
    /// The values, row-major, with their element type.
    public let values: TensorValues
    /// The complete header: magic, version, length and the padded dict; ``dataOffset`` bytes.
    public let header: [UInt8]

    /// The largest number of dimensions written (numpy 2's `NPY_MAXDIMS`). It also keeps the header
    /// far below version 1.0's 65,535-byte limit.
    public static let maxRank = 64

    /// The space numpy leaves after the dict so that the first dimension can grow in place.
    static let growthAxisMaxDigits = 21

    /// The alignment of the data: a multiple of 64 bytes from the start of the file.
    static let arrayAlign = 64

    /// Prepares an array for writing.
    /// - Parameters:
    ///   - values: The values in C (row-major) order.
    ///   - shape: The shape; its product must equal `values.count`.
    /// - Throws: ``TensorFileError/invalidShape(name:shape:reason:)`` for a negative dimension or more
    ///   than ``maxRank`` of them, ``TensorFileError/shapeMismatch(name:shape:valueCount:)`` when the
    ///   shape does not hold `values.count` values.
    public init(_ values: TensorValues, shape: [Int]) throws {
        guard shape.count <= Self.maxRank else {
            throw TensorFileError.invalidShape(name: nil, shape: shape, reason: "more than \(Self.maxRank) dimensions")
        }
        try values.check(shape: shape, name: nil)
        self.shape = shape
        self.values = values
        self.header = Self.header(descr: values.npyDescr, shape: shape)
    }

    /// The byte offset of the data: the size of ``header``, a multiple of 64.
    public var dataOffset: Int { header.count }

    /// The size of the whole file in bytes.
    public var byteCount: Int { header.count + values.byteCount }

    /// Writes the file: the header, then the data in pieces of at most `maxChunkBytes`.
    /// - Parameters:
    ///   - maxChunkBytes: The largest piece handed to `sink` (at least one value's size is used).
    ///   - sink: Called with consecutive pieces of the file, in order; the buffer is valid only
    ///     during the call.
    /// - Throws: What `sink` throws.
    public func write(maxChunkBytes: Int = 1 << 20, to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try header.withUnsafeBytes { try sink($0) }
        try values.forEachLittleEndianChunk(maxBytes: maxChunkBytes, sink)
    }

    /// The whole file in memory.
    /// - Returns: ``byteCount`` bytes.
    public func bytes() -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(byteCount)
        write { result.append(contentsOf: $0) }
        return result
    }

    /// The header numpy writes for a C-order array.
    /// - Parameters:
    ///   - descr: The dtype string, such as `<f8`.
    ///   - shape: The shape.
    /// - Returns: The magic, version 1.0, the length and the padded dict.
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(NpyHeader.tuple(shape)), }"
        if let first = shape.first {
            dict += String(repeating: " ", count: max(0, growthAxisMaxDigits - String(first).count))
        }
        let prefix = NpyHeader.magic.count + 2 + 2  // magic, version, u16 length
        let withNewline = dict.utf8.count + 1
        let padding = arrayAlign - (prefix + withNewline) % arrayAlign  // never 0, as numpy
        let length = withNewline + padding
        var bytes = NpyHeader.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
        bytes.reserveCapacity(prefix + length)
        bytes += Array(dict.utf8)
        bytes += [UInt8](repeating: 0x20, count: padding)
        bytes.append(0x0A)
        return bytes
    }
}

// MARK: - Values

/// The values of one array with their element type, as ``NpyWriter`` and ``SafetensorsWriter``
/// store them: row-major (C order), little-endian, IEEE 754 floats and two's-complement integers.
public enum TensorValues: Sendable, Hashable {
    /// Single-precision floats: numpy `<f4`, safetensors `F32`.
    case float32([Float])
    /// Double-precision floats: numpy `<f8`, safetensors `F64`.
    case float64([Double])
    /// 32-bit signed integers: numpy `<i4`, safetensors `I32`.
    case int32([Int32])
    /// 64-bit signed integers: numpy `<i8`, safetensors `I64`.
    case int64([Int64])

    /// The number of values.
    public var count: Int {
        switch self {
        case let .float32(values): values.count
        case let .float64(values): values.count
        case let .int32(values): values.count
        case let .int64(values): values.count
        }
    }

    /// The size of one value in bytes.
    public var itemSize: Int {
        switch self {
        case .float32, .int32: 4
        case .float64, .int64: 8
        }
    }

    /// The size of all the values in bytes.
    public var byteCount: Int { count * itemSize }

    /// numpy's type string, little-endian: `<f4`, `<f8`, `<i4` or `<i8`.
    public var npyDescr: String {
        switch self {
        case .float32: "<f4"
        case .float64: "<f8"
        case .int32: "<i4"
        case .int64: "<i8"
        }
    }

    /// The safetensors dtype: `F32`, `F64`, `I32` or `I64`.
    public var safetensorsDType: String {
        switch self {
        case .float32: "F32"
        case .float64: "F64"
        case .int32: "I32"
        case .int64: "I64"
        }
    }

    /// Calls `body` with the values' little-endian bytes, in order, in pieces of at most `maxBytes`
    /// (rounded down to whole values, at least one value).
    /// - Parameters:
    ///   - maxBytes: The largest piece.
    ///   - body: Called once per piece (never for zero values); the buffer is valid only during the call.
    /// - Throws: What `body` throws.
    public func forEachLittleEndianChunk(maxBytes: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        switch self {
        case let .float32(values): try Self.chunks(values, \.bitPattern, maxBytes, body)
        case let .float64(values): try Self.chunks(values, \.bitPattern, maxBytes, body)
        case let .int32(values): try Self.chunks(values, { $0 }, maxBytes, body)
        case let .int64(values): try Self.chunks(values, { $0 }, maxBytes, body)
        }
    }

    /// The pieces of one array: its own memory on a little-endian machine, byte-swapped copies
    /// on a big-endian one.
    private static func chunks<Element, Bits: FixedWidthInteger>(
        _ values: [Element], _ bits: (Element) -> Bits, _ maxBytes: Int,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        precondition(MemoryLayout<Element>.stride == MemoryLayout<Bits>.size)
        let perChunk = max(1, maxBytes / MemoryLayout<Bits>.size)
        let isLittleEndian = Bits(1).littleEndian == 1
        var start = 0
        while start < values.count {
            let end = min(values.count, start + perChunk)
            if isLittleEndian {
                try values[start..<end].withUnsafeBytes { try body($0) }
            } else {
                try values[start..<end].map { bits($0).littleEndian }.withUnsafeBytes { try body($0) }
            }
            start = end
        }
    }

    /// Checks that `shape` is valid and holds exactly ``count`` values.
    /// - Parameters:
    ///   - shape: The shape.
    ///   - name: The tensor's name, for messages.
    /// - Throws: ``TensorFileError``.
    func check(shape: [Int], name: String?) throws {
        let elements: Int
        do { elements = try ShapeProblem.elementCount(of: shape) } catch {
            throw TensorFileError.invalidShape(name: name, shape: shape, reason: error.reason)
        }
        guard elements == count else {
            throw TensorFileError.shapeMismatch(name: name, shape: shape, valueCount: count)
        }
    }
}

// MARK: - Errors

/// Why ``NpyWriter`` or ``SafetensorsWriter`` refused an array: a caller's mistake, found before
/// anything is written.
public enum TensorFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The shape's product is not the number of values given.
    case shapeMismatch(name: String?, shape: [Int], valueCount: Int)
    /// A dimension is negative, there are too many, or the size overflows.
    case invalidShape(name: String?, shape: [Int], reason: String)
    /// A safetensors tensor name is empty, reserved (`__metadata__`) or used twice.
    case invalidName(String, reason: String)

    /// A one-line account of the problem.
    public var description: String {
        switch self {
        case let .shapeMismatch(name, shape, valueCount):
            let elements = shape.reduce(1, &*)
            return "\(Self.subject(name)) shape \(shape) holds \(elements) value(s), but \(valueCount) were given"
        case let .invalidShape(name, shape, reason):
            return "\(Self.subject(name)) shape \(shape) is invalid: \(reason)"
        case let .invalidName(name, reason):
            return "tensor name '\(name)' cannot be used: \(reason)"
        }
    }

    private static func subject(_ name: String?) -> String {
        name.map { "tensor '\($0)':" } ?? "array:"
    }
}
