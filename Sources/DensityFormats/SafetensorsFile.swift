internal import Foundation
internal import DensityMetric

/// A `.safetensors` file read into memory: its tensors' dtypes, shapes and bytes.
///
/// The layout (<https://github.com/huggingface/safetensors>): an 8-byte little-endian header
/// length N, N bytes of JSON `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, …,
/// "__metadata__": {string: string}}`, then the tensors' little-endian bytes; offsets are relative
/// to the end of the header. Every offset, size and dtype is checked before any value is read.
public struct SafetensorsFile: Sendable {
    /// The largest header accepted, as in the reference implementation: 100 MB.
    public static let maxHeaderBytes = 100_000_000
    /// The bytes of the header's length, at the start of the file.
    static let headerLengthBytes = 8

    /// One tensor's description.
    public struct Tensor: Sendable, Hashable {
        /// The dtype name, such as `F32` or `I64`.
        public let dtype: String
        /// The shape; `[]` for a scalar.
        public let shape: [Int]
        /// The byte range in ``SafetensorsFile/data``.
        public let range: Range<Int>

        /// The number of elements: the product of the shape (1 for a scalar).
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// Where the bytes came from, for messages.
    public let source: String
    /// The tensors, by name.
    public let tensors: [String: Tensor]
    /// The `__metadata__` strings.
    public let metadata: [String: String]
    /// The data section (after the header).
    public let data: [UInt8]
    /// Where single tensors came from when it is not ``source``: the files of an `.npy` pair, each
    /// tensor from its own file. Empty for a file read from disk.
    let tensorSources: [String: String]

    /// The bytes per element of each supported dtype.
    public static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
        "F32": 4, "I32": 4, "U32": 4, "F64": 8, "I64": 8, "U64": 8,
    ]

    /// Reads and checks a file.
    /// - Parameter path: The file's path.
    /// - Throws: ``SafetensorsError``.
    public init(path: String) throws {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "it cannot be read" : "no such file"
            throw SafetensorsError.unreadable(source: path, reason: reason)
        }
        try self.init(bytes: [UInt8](bytes), source: path)
    }

    /// Parses and checks bytes in the safetensors layout.
    /// - Parameters:
    ///   - bytes: The whole file.
    ///   - source: A name for messages.
    /// - Throws: ``SafetensorsError/malformed(source:reason:)``.
    public init(bytes: [UInt8], source: String) throws {
        func fail(_ reason: String) -> SafetensorsError { .malformed(source: source, reason: reason) }
        guard bytes.count >= 8 else { throw fail("it has \(bytes.count) bytes, fewer than the 8-byte header length") }
        let length = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(Self.maxHeaderBytes) else {
            throw fail("its header claims \(length) bytes, more than the \(Self.maxHeaderBytes) allowed")
        }
        guard 8 + Int(length) <= bytes.count else {
            throw fail("its header claims \(length) bytes but the file has only \(bytes.count - 8) after the length (truncated?)")
        }
        let data = Array(bytes[(8 + Int(length))...])
        let (tensors, metadata) = try Self.parseHeader(bytes[8..<(8 + Int(length))], dataCount: data.count, source: source)
        self.init(source: source, tensors: tensors, metadata: metadata, data: data)
    }

    /// Parses and checks a header's JSON against the size of the data section after it: every
    /// tensor's dtype, shape and offsets, before any value is read.
    /// - Parameters:
    ///   - header: The header's bytes (after the 8-byte length).
    ///   - dataCount: The bytes after the header.
    ///   - source: A name for messages.
    /// - Returns: The tensors by name, and the `__metadata__` strings.
    /// - Throws: ``SafetensorsError/malformed(source:reason:)``, ``SafetensorsError/unsupportedTensor(source:name:reason:)``.
    static func parseHeader(_ header: ArraySlice<UInt8>, dataCount: Int, source: String) throws
        -> (tensors: [String: Tensor], metadata: [String: String])
    {
        func fail(_ reason: String) -> SafetensorsError { .malformed(source: source, reason: reason) }
        let headerBytes = Data(header)
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw fail("its header is not a JSON object")
        }
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        // In name order, so that a header with several faults is always refused for the same one.
        for (name, value) in header.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                guard let strings = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (key, text) in strings {
                    guard let text = text as? String else { throw fail("__metadata__['\(key)'] is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shapeValues = entry["shape"] as? [Any], let offsets = entry["data_offsets"] as? [Any],
                  offsets.count == 2
            else { throw fail("tensor '\(name)' lacks dtype, shape or data_offsets") }
            let shape = try shapeValues.map { item -> Int in
                guard let n = (item as? NSNumber)?.int64Value, n >= 0, n <= Int64(Int32.max) else {
                    throw fail("tensor '\(name)' has an invalid dimension \(item)")
                }
                return Int(n)
            }
            let bounds = try offsets.map { item -> Int in
                guard let n = (item as? NSNumber)?.int64Value, n >= 0, n <= Int64(dataCount) else {
                    throw fail("tensor '\(name)' has data offsets \(offsets) outside the \(dataCount) data bytes (truncated?)")
                }
                return Int(n)
            }
            guard bounds[0] <= bounds[1] else { throw fail("tensor '\(name)' has data offsets that run backwards") }
            guard let size = Self.dtypeSizes[dtype] else {
                throw SafetensorsError.unsupportedTensor(source: source, name: name, reason: "has the unknown dtype \(dtype)")
            }
            // nil: more bytes than fit in memory (the dimensions were checked non-negative above).
            let bytes = (try? ShapeProblem.elementCount(of: shape)).flatMap { elements -> Int? in
                let (bytes, overflow) = elements.multipliedReportingOverflow(by: size)
                return overflow ? nil : bytes
            }
            guard let bytes, bytes == bounds[1] - bounds[0] else {
                throw fail("tensor '\(name)' of shape \(shape) and dtype \(dtype) needs \(bytes.map(String.init) ?? "too many") bytes, its offsets give \(bounds[1] - bounds[0])")
            }
            tensors[name] = Tensor(dtype: dtype, shape: shape, range: bounds[0]..<bounds[1])
        }
        return (tensors, metadata)
    }

    /// Assembles a file from parts already checked (tensors built from numpy arrays, say).
    /// - Parameters:
    ///   - source: A name for messages.
    ///   - tensors: The tensors; each range must lie in `data` and match its dtype and shape.
    ///   - metadata: The `__metadata__` strings.
    ///   - data: The data section.
    ///   - tensorSources: Per-tensor names for messages, where they differ from `source`.
    init(source: String, tensors: [String: Tensor], metadata: [String: String] = [:], data: [UInt8],
         tensorSources: [String: String] = [:]) {
        self.source = source
        self.tensors = tensors
        self.metadata = metadata
        self.data = data
        self.tensorSources = tensorSources
    }

    /// The name to give in messages about one tensor: the file it came from.
    /// - Parameter name: The tensor's name.
    /// - Returns: Its own source when it has one (a file of an `.npy` pair), else ``source``.
    public func source(of name: String) -> String {
        tensorSources[name] ?? source
    }

    /// A tensor's values as exact integers: integer dtypes directly, float dtypes only when every
    /// value is whole and within Int64.
    /// - Parameter name: The tensor.
    /// - Returns: The values, row-major.
    /// - Throws: ``SafetensorsError`` when the tensor is missing, of an unsupported dtype, or a
    ///   float value is not a whole number or lies beyond Int64.
    public func integers(_ name: String) throws -> [Int64] {
        guard let tensor = tensors[name] else {
            throw SafetensorsError.missingTensors(source: source, expected: [name], found: tensors.keys.sorted())
        }
        let source = source(of: name)
        let bytes = data[tensor.range]
        return try bytes.withUnsafeBytes { raw throws -> [Int64] in
            let n = tensor.elementCount
            switch tensor.dtype {
            case "I64": return (0..<n).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case "I32": return (0..<n).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            case "I16": return (0..<n).map { Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
            case "I8": return (0..<n).map { Int64(raw.load(fromByteOffset: $0, as: Int8.self)) }
            case "U8", "BOOL": return (0..<n).map { Int64(raw.load(fromByteOffset: $0, as: UInt8.self)) }
            case "U16": return (0..<n).map { Int64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
            case "U32": return (0..<n).map { Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            case "F64", "F32":
                return try (0..<n).map { i in
                    let value = tensor.dtype == "F64"
                        ? Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                        : Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))
                    guard value.isFinite, value == value.rounded() else {
                        throw SafetensorsError.invalidValues(
                            source: source, name: name,
                            reason: "holds \(value) at index \(i), which is not a whole number; counts must be whole")
                    }
                    guard abs(value) < 0x1p63 else {
                        throw SafetensorsError.invalidValues(
                            source: source, name: name,
                            reason: "holds \(value) at index \(i), which is too large: beyond the range of Int64 (about ±9.22e18), where counts are kept exactly")
                    }
                    return Int64(value)
                }
            default:
                throw SafetensorsError.unsupportedTensor(
                    source: source, name: name, reason: "has dtype \(tensor.dtype); expected an integer or F32/F64")
            }
        }
    }

    /// A tensor's values as float64 (F16, F32, F64 and integer dtypes).
    /// - Parameter name: The tensor.
    /// - Returns: The values, row-major.
    /// - Throws: ``SafetensorsError`` when the tensor is missing or of an unsupported dtype.
    public func doubles(_ name: String) throws -> [Double] {
        guard let tensor = tensors[name] else {
            throw SafetensorsError.missingTensors(source: source, expected: [name], found: tensors.keys.sorted())
        }
        let source = source(of: name)
        let n = tensor.elementCount
        return try data[tensor.range].withUnsafeBytes { raw throws -> [Double] in
            switch tensor.dtype {
            case "F64": return (0..<n).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
            case "F32": return (0..<n).map { Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))) }
            case "F16": return (0..<n).map { Double(HalfFloat.widen(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
            default:
                guard Self.dtypeSizes[tensor.dtype] != nil, tensor.dtype != "BF16" else {
                    throw SafetensorsError.unsupportedTensor(source: source, name: name, reason: "has dtype \(tensor.dtype); expected a float or integer dtype")
                }
                return try integers(name).map(Double.init)
            }
        }
    }
}
