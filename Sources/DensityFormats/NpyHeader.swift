/// The header of an `.npy` file (numpy's format versions 1.0, 2.0 and 3.0), parsed and validated.
///
/// The layout is the magic `\x93NUMPY`, two version bytes, the header length (`u16` little-endian in
/// version 1.0, `u32` in 2.0 and 3.0), then a Python dict literal padded with spaces and a newline:
///
/// ```
/// {'descr': '<f4', 'fortran_order': False, 'shape': (4, 2, 3), }
/// ```
///
/// The dict is read by a small parser that accepts exactly what numpy's own reader accepts for these
/// three keys: keys in any order, any whitespace, a trailing comma, `(5,)` and `()` tuples, the `5L`
/// suffix of Python 2 era files. It is not a general Python parser: other keys or values are refused.
/// Only float16, float32 and float64 arrays are accepted (activations); see ``DType``.
///
/// Related numpy documentation: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>
public struct NpyHeader: Sendable, Hashable {
    /// The element types this reader accepts.
    public enum DType: String, Sendable, Hashable, CaseIterable {
        /// IEEE 754 half precision (`'<f2'`), delivered as bit patterns.
        case float16
        /// IEEE 754 single precision (`'<f4'`).
        case float32
        /// IEEE 754 double precision (`'<f8'`).
        case float64

        /// The size of one element in bytes.
        public var itemSize: Int {
            switch self {
            case .float16: return 2
            case .float32: return 4
            case .float64: return 8
            }
        }
    }

    /// The byte order of the data on disk.
    public enum ByteOrder: Sendable, Hashable {
        /// Least significant byte first (`'<'`); what numpy writes on x86 and ARM.
        case little
        /// Most significant byte first (`'>'`).
        case big

        /// The byte order of the machine running this code.
        public static var native: ByteOrder { UInt16(1).littleEndian == 1 ? .little : .big }
    }

    // MARK: - Limits

    /// The magic bytes every `.npy` file starts with: `\x93NUMPY`.
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// The largest header (the dict and its padding, after the length field) this reader accepts:
    /// 64 KiB. numpy writes about 118 bytes for a plain array and itself refuses more than 10,000
    /// by default, so a longer header means a damaged file; the bound keeps a corrupt length field
    /// from making the reader allocate gigabytes.
    public static let maxHeaderBytes = 65_536

    /// The largest number of dimensions accepted (numpy 2's `NPY_MAXDIMS`).
    public static let maxRank = 64

    // MARK: - Fields

    /// The format's major version: 1, 2 or 3 (the minor version is always 0).
    public let version: UInt8
    /// The element type.
    public let dtype: DType
    /// The byte order of the data. `'='` and `'|'` (and no order character) mean the reading
    /// machine's order, ``ByteOrder/native``, which is little-endian on every platform we build for.
    public let byteOrder: ByteOrder
    /// `true` when the data is stored in Fortran (column-major) order.
    public let fortranOrder: Bool
    /// The array's shape; never empty (0-d arrays are refused), every dimension `>= 0`.
    public let shape: [Int]
    /// The byte offset of the data from the start of the file (the magic, version, length and dict).
    public let dataOffset: Int
    /// The number of elements: the product of ``shape``.
    public let elementCount: Int

    /// The number of data bytes the shape and dtype require.
    public var dataByteCount: Int { elementCount * dtype.itemSize }

    // MARK: - Parsing

    /// Parses and validates a header.
    /// - Parameters:
    ///   - bytes: The file's first bytes, starting at the magic; at least ``dataOffset`` of them
    ///     (more are ignored).
    ///   - path: The file's path, used only in error messages.
    /// - Throws: ``NpyError`` naming the problem: ``NpyError/notNpy(path:found:)``,
    ///   ``NpyError/unsupportedVersion(path:major:minor:)``, ``NpyError/headerTooLarge(path:length:limit:)``,
    ///   ``NpyError/truncatedHeader(path:expectedBytes:foundBytes:)``, ``NpyError/malformedHeader(path:reason:)``,
    ///   ``NpyError/unsupportedDType(path:descr:name:)``, ``NpyError/structuredDType(path:descr:)``,
    ///   ``NpyError/scalarArray(path:)`` or ``NpyError/invalidShape(path:shape:reason:)``.
    public init(parsing bytes: [UInt8], path: String = "<memory>") throws {
        let (preamble, fields) = try Self.fields(parsing: bytes, path: path)
        let descr: String
        switch fields.descr {
        case let .structured(text): throw NpyError.structuredDType(path: path, descr: text)
        case let .simple(text): descr = text
        }
        (dtype, byteOrder) = try Self.dtype(fromDescr: descr, path: path)
        elementCount = try Self.validate(shape: fields.shape, itemSize: dtype.itemSize, path: path)
        version = preamble.version
        fortranOrder = fields.fortranOrder
        shape = fields.shape
        dataOffset = preamble.dataOffset
    }

    /// The fixed-size start of a header: magic, version and length.
    struct Preamble {
        /// The major version.
        var version: UInt8
        /// Where the dict starts: 10 (version 1) or 12.
        var dictOffset: Int
        /// Where the data starts: the dict's offset plus its declared length.
        var dataOffset: Int
    }

    /// Reads the preamble and the dict, without judging the dtype or shape: the part shared with
    /// readers of other arrays (``NpyTensor`` reads state tensors of integer dtypes and 0-d shapes).
    /// - Parameters:
    ///   - bytes: The file's first bytes, at least up to the end of the dict.
    ///   - path: The file's path for messages.
    /// - Returns: The preamble and the dict's three fields.
    /// - Throws: ``NpyError`` for a bad preamble, a truncated header or a malformed dict.
    static func fields(parsing bytes: [UInt8], path: String) throws -> (Preamble, NpyHeaderParser.Fields) {
        let preamble = try preamble(bytes, path: path)
        guard bytes.count >= preamble.dataOffset else {
            throw NpyError.truncatedHeader(path: path, expectedBytes: preamble.dataOffset, foundBytes: bytes.count)
        }
        let fields = try NpyHeaderParser.parse(
            bytes[preamble.dictOffset..<preamble.dataOffset], utf8: preamble.version == 3, path: path)
        return (preamble, fields)
    }

    /// Reads the bytes of a file's header: the preamble, then the whole dict once its length is known.
    /// - Parameters:
    ///   - file: The open file.
    ///   - size: The file's size.
    ///   - path: The file's path for messages.
    /// - Returns: The bytes from the magic to the start of the data.
    /// - Throws: ``NpyError`` for a bad preamble, an I/O error, or a file that ends inside the header.
    static func headerBytes(of file: PosixFile, size: Int, path: String) throws -> [UInt8] {
        let preamble = try preamble(try file.readBytes(count: preambleBytes, at: 0), path: path)
        guard size >= preamble.dataOffset else {
            throw NpyError.truncatedHeader(path: path, expectedBytes: preamble.dataOffset, foundBytes: size)
        }
        return try file.readBytes(count: preamble.dataOffset, at: 0)
    }

    /// The number of bytes ``preamble(_:path:)`` needs to see: the magic, version and longest length field.
    static let preambleBytes = 12

    /// Reads the magic, version and header length, checking each.
    /// - Parameters:
    ///   - bytes: The file's first bytes (up to ``preambleBytes`` suffice; fewer only when the file is shorter).
    ///   - path: The file's path for messages.
    /// - Returns: The version and the offsets of the dict and the data.
    /// - Throws: ``NpyError`` for a bad magic, an unsupported version, a header past ``maxHeaderBytes``
    ///   or a file that ends before the length field.
    static func preamble(_ bytes: [UInt8], path: String) throws -> Preamble {
        guard bytes.starts(with: magic.prefix(min(bytes.count, magic.count))), !bytes.isEmpty else {
            throw NpyError.notNpy(path: path, found: Array(bytes.prefix(8)))
        }
        guard bytes.count >= 8 else {
            throw NpyError.truncatedHeader(path: path, expectedBytes: 10, foundBytes: bytes.count)
        }
        let (major, minor) = (bytes[6], bytes[7])
        guard minor == 0, (1...3).contains(major) else {
            throw NpyError.unsupportedVersion(path: path, major: major, minor: minor)
        }
        let dictOffset = major == 1 ? 10 : 12
        guard bytes.count >= dictOffset else {
            throw NpyError.truncatedHeader(path: path, expectedBytes: dictOffset, foundBytes: bytes.count)
        }
        var length = 0
        for (shift, byte) in bytes[8..<dictOffset].enumerated() {
            length |= Int(byte) << (8 * shift)
        }
        guard length <= maxHeaderBytes else {
            throw NpyError.headerTooLarge(path: path, length: length, limit: maxHeaderBytes)
        }
        return Preamble(version: major, dictOffset: dictOffset, dataOffset: dictOffset + length)
    }

    // MARK: - Validation

    /// Maps a numpy type string such as `'<f4'` to a dtype and byte order.
    private static func dtype(fromDescr descr: String, path: String) throws -> (DType, ByteOrder) {
        let (order, code) = split(descr: descr)
        switch code {
        case "f2", "e": return (.float16, order)
        case "f4", "f": return (.float32, order)
        case "f8", "d": return (.float64, order)
        default: throw NpyError.unsupportedDType(path: path, descr: descr, name: typeName(of: code))
        }
    }

    /// Splits a numpy type string such as `'>i8'` into its byte order and its type code (`i8`).
    /// `'='`, `'|'` and no order character mean the machine's order.
    static func split(descr: String) -> (ByteOrder, Substring) {
        var code = Substring(descr)
        var order = ByteOrder.native
        if let first = code.first, "<>=|".contains(first) {
            if first == "<" { order = .little } else if first == ">" { order = .big }
            code = code.dropFirst()
        }
        return (order, code)
    }

    /// A readable name for a numpy type code we do not accept: `i4` is "int32", `O` is "object".
    static func typeName(of code: Substring) -> String {
        let singles: [Substring: String] = [
            "?": "bool", "b": "int8", "B": "uint8", "h": "int16", "H": "uint16", "i": "int32", "I": "uint32",
            "l": "int64", "L": "uint64", "q": "int64", "Q": "uint64", "g": "float128 (long double)",
            "F": "complex64", "D": "complex128", "G": "complex256", "O": "object",
        ]
        if let name = singles[code] { return name }
        guard let kind = code.first else { return "an empty type string" }
        let rest = code.dropFirst()
        let digits = rest.prefix(while: \.isASCII).prefix(while: \.isNumber)
        // A size such as 'i99999999999999999' must not overflow: only plausible sizes are named.
        let bits = Int(digits).flatMap { $0 <= 1 << 16 ? $0 * 8 : nil }
        switch kind {
        case "i": return bits.map { "int\($0)" } ?? "a signed integer"
        case "u": return bits.map { "uint\($0)" } ?? "an unsigned integer"
        case "f": return bits.map { "float\($0)" } ?? "a float"
        case "c": return bits.map { "complex\($0)" } ?? "a complex"
        case "b": return "bool"
        case "O": return "object"
        case "S", "a": return "bytes"
        case "U": return "str"
        case "V": return "void (raw bytes)"
        case "M": return "datetime64"
        case "m": return "timedelta64"
        default: return "an unknown dtype"
        }
    }

    /// A shape as Python writes the tuple, as the header holds it: `()`, `(6,)`, `(2, 6)`.
    static func tuple(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
    }

    /// Checks the rank and dimensions and returns the element count.
    /// - Parameters:
    ///   - shape: The dict's shape.
    ///   - itemSize: The bytes per element.
    ///   - allowScalar: `true` to accept the 0-d shape `()` (one element); activations refuse it.
    ///   - path: The file's path for messages.
    static func validate(shape: [Int], itemSize: Int, allowScalar: Bool = false, path: String) throws -> Int {
        guard !shape.isEmpty || allowScalar else { throw NpyError.scalarArray(path: path) }
        let text = tuple(shape)
        guard shape.count <= maxRank else {
            throw NpyError.invalidShape(path: path, shape: "of rank \(shape.count)",
                                        reason: "more than \(maxRank) dimensions")
        }
        let count: Int
        do { count = try ShapeProblem.elementCount(of: shape) } catch {
            throw NpyError.invalidShape(path: path, shape: text, reason: error.reason)
        }
        guard !count.multipliedReportingOverflow(by: itemSize).overflow else {
            throw NpyError.invalidShape(path: path, shape: text, reason: "its data needs more bytes than fit in memory")
        }
        return count
    }
}
