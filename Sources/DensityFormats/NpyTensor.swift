/// One `.npy` array of a metric's STATE (counts, a vector count, a step), read whole into memory
/// as safetensors-style bytes: a dtype name such as `I64`, a shape, and little-endian C-order data.
///
/// Unlike activations (``NpyFile``, float only, never 0-d), a state array may be
/// - of dtype int8, int16, int32, int64, uint8, uint16, uint32, uint64 (values above `Int64.max`
///   are refused: no count is that large), float32, float64 or bool;
/// - of either byte order (big-endian data is byte-swapped to little-endian);
/// - in C or Fortran order (Fortran data is transposed to C order);
/// - 0-d, as `np.save(path, np.int64(9))` writes a scalar: shape `[]`, one element.
///
/// The header is read by the same code as activations' (``NpyHeader``'s preamble and dict parser);
/// only the dtype and shape rules differ. Trailing bytes after the data are ignored, as
/// `numpy.load` ignores them.
///
/// ```swift
/// let counts = try NpyTensor(path: "neuron_fired_count.npy")   // '>i8', fortran_order True, (2, 6)
/// counts.dtype    // "I64"
/// counts.shape    // [2, 6]
/// counts.bytes    // 96 bytes, little-endian, row-major
/// ```
public struct NpyTensor: Sendable, Hashable {
    /// The safetensors dtype name: `I8`, `I16`, `I32`, `I64`, `U8`, `U16`, `U32`, `U64`, `F32`,
    /// `F64` or `BOOL`.
    public let dtype: String
    /// The shape; `[]` for a 0-d array.
    public let shape: [Int]
    /// The values, little-endian, in C (row-major) order: `elementCount * itemSize` bytes.
    public let bytes: [UInt8]

    /// The number of elements: the product of ``shape`` (1 for a 0-d array).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The bytes per element.
    public var itemSize: Int { Self.itemSizes[dtype] ?? 1 }

    /// numpy type codes (after the byte-order character) and their safetensors names.
    static let dtypes: [Substring: String] = [
        "b1": "BOOL", "?": "BOOL",
        "i1": "I8", "b": "I8", "u1": "U8", "B": "U8",
        "i2": "I16", "h": "I16", "u2": "U16", "H": "U16",
        "i4": "I32", "i": "I32", "u4": "U32", "I": "U32",
        "i8": "I64", "q": "I64", "u8": "U64", "Q": "U64",
        "f4": "F32", "f": "F32", "f8": "F64", "d": "F64",
    ]

    /// The bytes per element of each dtype this reader produces.
    static let itemSizes: [String: Int] = [
        "BOOL": 1, "I8": 1, "U8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8, "F32": 4, "F64": 8,
    ]

    // MARK: - Reading

    /// Reads a state array from an `.npy` file.
    ///
    /// The header is checked first, then the file's size against what the shape needs, so a damaged
    /// header never makes the reader allocate more than the file holds.
    /// - Parameter path: The file's path; messages name it.
    /// - Throws: ``NpyError``: ``NpyError/unreadable(path:reason:)``, any header error of
    ///   ``NpyHeader/init(parsing:path:)`` except the 0-d and float-only ones,
    ///   ``NpyError/unsupportedStateDType(path:descr:name:)``,
    ///   ``NpyError/truncatedTensor(path:shape:dtype:expectedBytes:foundBytes:)`` or
    ///   ``NpyError/valueOutOfRange(path:index:value:)``.
    public init(path: String) throws {
        let file = try PosixFile(path: path)
        let size = try file.size()
        let layout = try Layout(header: try NpyHeader.headerBytes(of: file, size: size, path: path), path: path)
        try layout.checkAvailable(size - layout.dataOffset, path: path)
        let data = try file.readBytes(count: layout.byteCount, at: layout.dataOffset)
        try self.init(layout: layout, data: data[...], path: path)
    }

    /// Reads a state array from the bytes of an `.npy` file (an entry of an `.npz` archive, say).
    /// - Parameters:
    ///   - npyBytes: The whole `.npy` file.
    ///   - path: A name for messages, such as `state.npz:neuron_fired_count.npy`.
    /// - Throws: ``NpyError``, as ``init(path:)``.
    public init(npyBytes: [UInt8], path: String) throws {
        let layout = try Layout(header: npyBytes, path: path)
        try layout.checkAvailable(npyBytes.count - layout.dataOffset, path: path)
        try self.init(layout: layout, data: npyBytes[layout.dataOffset..<(layout.dataOffset + layout.byteCount)],
                      path: path)
    }

    /// Converts checked data to little-endian C order.
    private init(layout: Layout, data: ArraySlice<UInt8>, path: String) throws {
        let size = layout.itemSize
        var bytes = Array(data)
        if layout.byteOrder == .big && size > 1 {
            bytes.withUnsafeMutableBufferPointer { buffer in
                var start = 0
                while start < buffer.count {
                    buffer[start..<(start + size)].reverse()
                    start += size
                }
            }
        }
        if layout.fortranOrder && layout.shape.count > 1 {
            bytes = Self.fortranToC(bytes, shape: layout.shape, itemSize: size)
        }
        if layout.dtype == "U64" {
            for index in 0..<layout.elementCount {
                var value: UInt64 = 0
                for byte in 0..<8 { value |= UInt64(bytes[index * 8 + byte]) << (8 * UInt64(byte)) }
                guard value <= UInt64(Int64.max) else {
                    throw NpyError.valueOutOfRange(path: path, index: index, value: value)
                }
            }
        }
        self.dtype = layout.dtype
        self.shape = layout.shape
        self.bytes = bytes
    }

    /// Reorders column-major elements into row-major order.
    /// - Parameters:
    ///   - source: The elements in Fortran order (the first index varies fastest).
    ///   - shape: The array's shape (two or more dimensions).
    ///   - itemSize: The bytes per element.
    /// - Returns: The same elements in C order (the last index varies fastest).
    static func fortranToC(_ source: [UInt8], shape: [Int], itemSize: Int) -> [UInt8] {
        let count = shape.reduce(1, *)
        guard count > 0 else { return source }
        var strides = [Int](repeating: 1, count: shape.count)  // in elements, Fortran order
        for axis in 1..<shape.count { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        var result = [UInt8](repeating: 0, count: source.count)
        var index = [Int](repeating: 0, count: shape.count)    // the C-order multi-index
        var sourceOffset = 0
        for target in 0..<count {
            for byte in 0..<itemSize { result[target * itemSize + byte] = source[sourceOffset * itemSize + byte] }
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                sourceOffset += strides[axis]
                if index[axis] < shape[axis] { break }
                sourceOffset -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    // MARK: - Widening

    /// The dtype and bytes with every integer dtype other than `I32` and `I64` widened to `I64`
    /// (losslessly: uint64 values were checked to fit when read). Floats, bool, `I32` and `I64` are
    /// returned as they are. State readers accept int32 and int64 counts; this lets an int16 or
    /// uint64 count array, which numpy writes just as readily, mean the integers it holds.
    /// - Returns: A safetensors dtype name and the matching little-endian bytes.
    func widenedIntegers() -> (dtype: String, bytes: [UInt8]) {
        let size = itemSize
        let signed: Bool
        switch dtype {
        case "I8", "I16": signed = true
        case "U8", "U16", "U32", "U64": signed = false
        default: return (dtype, bytes)
        }
        var widened = [UInt8]()
        widened.reserveCapacity(elementCount * 8)
        for index in 0..<elementCount {
            let start = index * size
            let negative = signed && bytes[start + size - 1] & 0x80 != 0
            widened += bytes[start..<(start + size)]
            widened += [UInt8](repeating: negative ? 0xFF : 0, count: 8 - size)
        }
        return ("I64", widened)
    }

    // MARK: - Header

    /// What the header says, checked: dtype, byte order, order, shape and where the data is.
    private struct Layout {
        var dtype: String
        var itemSize: Int
        var byteOrder: NpyHeader.ByteOrder
        var fortranOrder: Bool
        var shape: [Int]
        var elementCount: Int
        var dataOffset: Int

        var byteCount: Int { elementCount * itemSize }

        init(header bytes: [UInt8], path: String) throws {
            let (preamble, fields): (NpyHeader.Preamble, NpyHeaderParser.Fields)
            do {
                (preamble, fields) = try NpyHeader.fields(parsing: bytes, path: path)
            } catch let NpyError.structuredDType(path, descr) {
                throw NpyError.unsupportedStateDType(path: path, descr: descr, name: "a structured dtype")
            }
            let descr: String
            switch fields.descr {
            case let .simple(text): descr = text
            case let .structured(text):
                throw NpyError.unsupportedStateDType(path: path, descr: text, name: "a structured dtype")
            }
            let (order, code) = NpyHeader.split(descr: descr)
            guard let dtype = NpyTensor.dtypes[code], let itemSize = NpyTensor.itemSizes[dtype] else {
                throw NpyError.unsupportedStateDType(path: path, descr: descr, name: NpyHeader.typeName(of: code))
            }
            self.dtype = dtype
            self.itemSize = itemSize
            self.byteOrder = order
            self.fortranOrder = fields.fortranOrder
            self.shape = fields.shape
            self.elementCount = try NpyHeader.validate(shape: fields.shape, itemSize: itemSize, allowScalar: true, path: path)
            self.dataOffset = preamble.dataOffset
        }

        /// Checks that `available` data bytes hold the whole array.
        func checkAvailable(_ available: Int, path: String) throws {
            guard available >= byteCount else {
                throw NpyError.truncatedTensor(path: path, shape: shape, dtype: NpyTensor.numpyName(dtype),
                                               expectedBytes: byteCount, foundBytes: max(0, available))
            }
        }
    }

    /// numpy's name for a safetensors dtype name: `I64` is `int64`, `BOOL` is `bool`.
    static func numpyName(_ dtype: String) -> String {
        switch dtype {
        case "BOOL": return "bool"
        case let name where name.hasPrefix("I"): return "int" + name.dropFirst()
        case let name where name.hasPrefix("U"): return "uint" + name.dropFirst()
        default: return "float" + dtype.dropFirst()
        }
    }
}
