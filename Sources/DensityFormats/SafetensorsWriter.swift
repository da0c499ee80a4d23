/// Writes tensors as a `.safetensors` file, the tensor format of Hugging Face's `safetensors`.
///
/// The layout, as the format's specification gives it:
///
/// | bytes | content |
/// |---|---|
/// | 8 | `N`, the header's length, little-endian `u64` |
/// | `N` | the header: UTF-8 JSON, padded with spaces (0x20) to a multiple of 8 bytes |
/// | rest | the tensors' raw data, little-endian, row-major, one after the other |
///
/// The header maps each tensor's name to `{"dtype","shape","data_offsets":[begin,end]}`, offsets
/// relative to the start of the data, and `"__metadata__"` to a map of strings:
///
/// ```
/// {"__metadata__":{"run":"demo"},"neuron_fired_count":{"dtype":"I64","shape":[2,6],"data_offsets":[0,96]},"num_activation_vectors":{"dtype":"I64","shape":[],"data_offsets":[96,104]}}
/// ```
///
/// Tensors are stored in the order they were added, each right after the previous one, so the data
/// is in the order of the offsets with no gap, as readers require. The JSON is compact, with
/// `__metadata__` first (sorted by key) and the keys of each tensor in the order above, which is how
/// the reference implementation (safetensors 0.8) serializes it: adding tensors in the order it
/// sorts them (dtype, larger first, then name) gives the very bytes `safetensors.torch.save_file`
/// writes.
///
/// ```swift
/// var writer = SafetensorsWriter(metadata: ["step": "1200"])
/// try writer.add("neuron_fired_count", shape: state.shape, values: .int64(state.counts))
/// try writer.add("num_activation_vectors", shape: [], values: .int64([state.vectors]))
/// let bytes = writer.bytes()
/// ```
///
/// Related documentation: <https://github.com/huggingface/safetensors#format>
public struct SafetensorsWriter: Sendable, Hashable {
    /// One tensor of the file.
    public struct Tensor: Sendable, Hashable {
        /// Its name, the header's key.
        public let name: String
        /// Its shape; `[]` is a scalar.
        public let shape: [Int]
        /// Its values, row-major, with their dtype.
        public let values: TensorValues
        /// Where its bytes are, relative to the start of the data.
        public let dataOffsets: Range<Int>
    }

    /// The tensors, in the order of their data.
    public private(set) var tensors: [Tensor] = []

    /// The `__metadata__` map of the header (strings only, as the format requires); left out of the
    /// header when empty.
    public var metadata: [String: String]

    /// The name the format reserves for the metadata.
    public static let metadataKey = "__metadata__"

    /// An empty file.
    /// - Parameter metadata: The `__metadata__` strings.
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Appends a tensor after the previous ones.
    /// - Parameters:
    ///   - name: A unique, non-empty name other than `__metadata__`.
    ///   - shape: The shape; its product must equal `values.count` (`[]` holds one value).
    ///   - values: The values, row-major.
    /// - Throws: ``TensorFileError/invalidName(_:reason:)``,
    ///   ``TensorFileError/invalidShape(name:shape:reason:)`` or
    ///   ``TensorFileError/shapeMismatch(name:shape:valueCount:)``.
    public mutating func add(_ name: String, shape: [Int], values: TensorValues) throws {
        guard !name.isEmpty else { throw TensorFileError.invalidName(name, reason: "it is empty") }
        guard name != Self.metadataKey else {
            throw TensorFileError.invalidName(name, reason: "the format reserves it for the metadata")
        }
        guard !tensors.contains(where: { $0.name == name }) else {
            throw TensorFileError.invalidName(name, reason: "a tensor of this name was added already")
        }
        try values.check(shape: shape, name: name)
        let begin = tensors.last?.dataOffsets.upperBound ?? 0
        tensors.append(Tensor(name: name, shape: shape, values: values, dataOffsets: begin..<(begin + values.byteCount)))
    }

    /// The header's JSON text, before padding.
    public var headerJSON: String {
        var json = "{"
        var first = true
        func key(_ name: String) {
            if !first { json += "," }
            first = false
            Self.writeString(name, to: &json)
            json += ":"
        }
        if !metadata.isEmpty {
            key(Self.metadataKey)
            json += "{"
            for (index, (name, value)) in metadata.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { json += "," }
                Self.writeString(name, to: &json)
                json += ":"
                Self.writeString(value, to: &json)
            }
            json += "}"
        }
        for tensor in tensors {
            key(tensor.name)
            json += "{\"dtype\":\"\(tensor.values.safetensorsDType)\",\"shape\":["
            json += tensor.shape.map(String.init).joined(separator: ",")
            json += "],\"data_offsets\":[\(tensor.dataOffsets.lowerBound),\(tensor.dataOffsets.upperBound)]}"
        }
        return json + "}"
    }

    /// The start of the file: the 8-byte length, then the JSON padded with spaces to a multiple of 8.
    public var header: [UInt8] {
        var json = Array(headerJSON.utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        let length = UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + json
    }

    /// The size of the whole file in bytes.
    public var byteCount: Int { header.count + (tensors.last?.dataOffsets.upperBound ?? 0) }

    /// Writes the file: the header, then each tensor's data in pieces of at most `maxChunkBytes`.
    /// - Parameters:
    ///   - maxChunkBytes: The largest piece handed to `sink` (at least one value's size is used).
    ///   - sink: Called with consecutive pieces of the file, in order; the buffer is valid only
    ///     during the call.
    /// - Throws: What `sink` throws.
    public func write(maxChunkBytes: Int = 1 << 20, to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try header.withUnsafeBytes { try sink($0) }
        for tensor in tensors {
            try tensor.values.forEachLittleEndianChunk(maxBytes: maxChunkBytes, sink)
        }
    }

    /// The whole file in memory.
    /// - Returns: ``byteCount`` bytes.
    public func bytes() -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(byteCount)
        write { result.append(contentsOf: $0) }
        return result
    }

    /// A JSON string as serde_json (the reference implementation's serializer) writes it: `"` and
    /// `\` escaped, control characters as `\n`-style escapes or `\u00xx`, everything else as is.
    package static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
