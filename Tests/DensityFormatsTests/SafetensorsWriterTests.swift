@testable import DensityFormats
import Foundation
import Testing

/// ``SafetensorsWriter``: the specification's layout byte for byte, the same bytes as files the
/// reference library (safetensors 0.8) wrote, and files a Python reader with only `struct` and
/// `json` parses and checks (the `safetensors` package is not needed).
@Suite struct SafetensorsWriterTests {
    // MARK: - The documented layout

    @Test func documentedLayoutByteForByte() throws {
        var writer = SafetensorsWriter(metadata: ["step": "1200"])
        try writer.add("a", shape: [2], values: .int64([1, -2]))
        try writer.add("b", shape: [], values: .float64([0.5]))
        let json = #"{"__metadata__":{"step":"1200"},"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F64","shape":[],"data_offsets":[16,24]}}"#
        #expect(json.utf8.count == 140)
        let padded = Array(json.utf8) + [UInt8](repeating: 0x20, count: 4)  // 144 = 18 x 8
        let expected: [UInt8] = [144, 0, 0, 0, 0, 0, 0, 0] + padded
            + [1, 0, 0, 0, 0, 0, 0, 0] + [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]  // 1, -2
            + [0, 0, 0, 0, 0, 0, 0xE0, 0x3F]  // 0.5
        #expect(writer.headerJSON == json)
        #expect(writer.bytes() == expected)
        #expect(writer.byteCount == expected.count)
        #expect(writer.tensors.map(\.dataOffsets) == [0..<16, 16..<24])
    }

    @Test func noMetadataNoTensors() throws {
        #expect(SafetensorsWriter().bytes() == [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        var writer = SafetensorsWriter()
        try writer.add("x", shape: [0], values: .float32([]))
        #expect(writer.headerJSON == #"{"x":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#)
    }

    /// Every length of JSON modulo 8 is padded with 0 to 7 spaces, and the length field counts them.
    @Test(arguments: 1...16)
    func headerIsPaddedToAMultipleOf8(_ nameLength: Int) throws {
        var writer = SafetensorsWriter()
        try writer.add(String(repeating: "n", count: nameLength), shape: [1], values: .int32([7]))
        let bytes = writer.bytes()
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let json = writer.headerJSON.utf8.count
        #expect(length % 8 == 0)
        #expect(length - json == (8 - json % 8) % 8)
        #expect(bytes[(8 + json)..<(8 + length)].allSatisfy { $0 == 0x20 })
        #expect(Array(bytes.suffix(4)) == [7, 0, 0, 0])
        #expect(bytes.count == 8 + length + 4)
    }

    // MARK: - The reference library's files

    /// Rebuilds a fixture that `safetensors.torch.save_file` wrote from the values MANIFEST.json
    /// lists, adding the tensors in the order the library sorts them (dtype, then name).
    @Test(arguments: ["torch_state_i64_C2_F6_n1", "torch_state_f64_C2_F6_step1200", "torch_state_f32_F10",
                      "torch_state_i32_C2_F6", "torch_state_f32_past_2p24", "saelens_sparsity"])
    func sameBytesAsTheReferenceLibrary(_ fixture: String) throws {
        let entry = try Fixtures.entry(fixture + ".safetensors")
        let reference = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try Fixtures.path(fixture + ".safetensors"))))
        let counts = entry["neuron_fired_count"]
        let vectors = (entry["num_activation_vectors"] as? NSNumber)?.int64Value
        var writer = SafetensorsWriter()
        switch fixture {
        case "torch_state_i64_C2_F6_n1":
            try writer.add("neuron_fired_count", shape: [2, 6], values: .int64(try flattenedInts(counts)))
            try writer.add("num_activation_vectors", shape: [1], values: .int64([try #require(vectors)]))
        case "torch_state_f64_C2_F6_step1200":
            try writer.add("num_activation_vectors", shape: [], values: .int64([try #require(vectors)]))
            try writer.add("step", shape: [], values: .int64([try #require((entry["step"] as? NSNumber)?.int64Value)]))
            try writer.add("neuron_fired_count", shape: [2, 6], values: .float64(try Self.doubles(counts)))
        case "torch_state_i32_C2_F6":
            try writer.add("num_activation_vectors", shape: [], values: .int64([try #require(vectors)]))
            try writer.add("neuron_fired_count", shape: [2, 6], values: .int32(try flattenedInts(counts).map { Int32($0) }))
        case "torch_state_f32_F10", "torch_state_f32_past_2p24":
            let values = try Self.doubles(counts).map { Float($0) }
            try writer.add("num_activation_vectors", shape: [], values: .int64([try #require(vectors)]))
            try writer.add("neuron_fired_count", shape: [values.count], values: .float32(values))
        default:
            let values = try Self.doubles(entry["sparsity"]).map { Float($0) }
            try writer.add("sparsity", shape: [values.count], values: .float32(values))
        }
        #expect(writer.bytes() == reference,
                "ours:\n\(String(decoding: writer.header, as: UTF8.self))\nreference:\n\(String(decoding: reference.prefix(writer.header.count), as: UTF8.self))")
    }

    static func doubles(_ json: Any?) throws -> [Double] {
        if let number = json as? NSNumber { return [number.doubleValue] }
        let array = try #require(json as? [Any], "expected numbers, got \(String(describing: json))")
        return try array.flatMap { try doubles($0) }
    }

    // MARK: - Read by Python

    /// Parses each file with `struct` and `json` only, checks the layout rules, and prints every
    /// tensor (in the order of its offsets) with its values' bits.
    static let pythonReader = #"""
import json, struct, sys

SIZES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4}
BITS = {"F64": "q", "I64": "q", "F32": "i", "I32": "i"}
out = {}
for path in sys.argv[1:]:
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0, "header length %d is not a multiple of 8" % n
    text = blob[8:8 + n].decode("utf-8")
    assert text.startswith("{"), text
    stripped = text.rstrip(" ")
    assert len(text) - len(stripped) < 8, "more padding than needed"
    header = json.loads(text)
    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        assert all(isinstance(v, str) for v in metadata.values()), "metadata values must be strings"
    data = blob[8 + n:]
    tensors = sorted(header.items(), key=lambda item: item[1]["data_offsets"])
    end = 0
    listed = []
    for name, info in tensors:
        begin, stop = info["data_offsets"]
        assert begin == end, "%s starts at %d, not at the previous end %d" % (name, begin, end)
        count = 1
        for d in info["shape"]:
            count *= d
        assert stop - begin == count * SIZES[info["dtype"]], "%s: wrong byte size" % name
        bits = list(struct.unpack("<%d%s" % (count, BITS[info["dtype"]]), data[begin:stop]))
        listed.append(dict(name=name, dtype=info["dtype"], shape=info["shape"], offsets=[begin, stop], bits=bits))
        end = stop
    assert end == len(data), "%d bytes of data, the offsets end at %d" % (len(data), end)
    order = [name for name in header]   # the order of the keys in the file
    out[path] = dict(metadata=metadata, tensors=listed, order=order)
json.dump(out, sys.stdout)
"""#

    struct Parsed: Decodable {
        struct Tensor: Decodable, Equatable {
            var name: String
            var dtype: String
            var shape: [Int]
            var offsets: [Int]
            var bits: [Int64]
        }
        var metadata: [String: String]?
        var tensors: [Tensor]
        var order: [String]
    }

    /// Bits of values as Python's `struct` reads them: `q` for 8-byte, `i` for 4-byte values.
    static func bits(_ values: TensorValues) -> [Int64] {
        switch values {
        case let .float64(v): v.map { Int64(bitPattern: $0.bitPattern) }
        case let .float32(v): v.map { Int64(Int32(bitPattern: $0.bitPattern)) }
        case let .int64(v): v
        case let .int32(v): v.map(Int64.init)
        }
    }

    @Test func pythonParsesEveryFile() throws {
        var density = SafetensorsWriter(metadata: ["run": "l1-1e-3", "step": "500", "vectors": "4096"])
        try density.add("density", shape: [7], values: .float64([0, 1, 0.25, 1e-10, .nan, -0.0, .leastNonzeroMagnitude]))
        var counts = SafetensorsWriter(metadata: ["run": "multi", "from": "start", "to": "20"])
        try counts.add("neuron_fired_count", shape: [2, 3], values: .int64([0, 1, .max, 3, 4, 5]))
        try counts.add("num_activation_vectors", shape: [], values: .int64([.max]))
        var mixed = SafetensorsWriter()
        try mixed.add("f32", shape: [3], values: .float32([1.5, -.infinity, .leastNonzeroMagnitude]))
        try mixed.add("i32", shape: [1, 2], values: .int32([.min, .max]))
        try mixed.add("nothing", shape: [2, 0], values: .float64([]))
        try mixed.add("last", shape: [], values: .int64([-1]))
        var names = SafetensorsWriter(metadata: ["quote\"back\\slash": "new\nline\ttab\u{1}é ✓", "": "empty key"])
        try names.add("é\"\\\n\u{7}", shape: [1], values: .int64([42]))
        try names.add("ünïcödé", shape: [1], values: .float64([-1]))

        try withTemporaryDirectory { folder in
            let cases = [("density", density), ("counts", counts), ("mixed", mixed), ("names", names)]
            var paths: [String: SafetensorsWriter] = [:]
            for (name, writer) in cases {
                paths[try write(writer.bytes(), to: name + ".safetensors", in: folder)] = writer
            }
            let output = try runPython(Self.pythonReader, arguments: Array(paths.keys))
            let parsed = try JSONDecoder().decode([String: Parsed].self, from: Data(output.utf8))
            for (path, writer) in paths {
                let file = try #require(parsed[path], "python did not parse \(path)")
                #expect(file.metadata ?? [:] == writer.metadata, "\(path)")
                #expect(file.order == writer.tensors.map(\.name), "\(path): the header lists the tensors in data order")
                #expect(file.tensors == writer.tensors.map { tensor in
                    Parsed.Tensor(name: tensor.name, dtype: tensor.values.safetensorsDType, shape: tensor.shape,
                                  offsets: [tensor.dataOffsets.lowerBound, tensor.dataOffsets.upperBound],
                                  bits: Self.bits(tensor.values))
                }, "\(path)")
            }
        }
    }

    // MARK: - Streaming and refusals

    @Test func piecesMakeUpTheFile() throws {
        var writer = SafetensorsWriter(metadata: ["k": "v"])
        try writer.add("a", shape: [10], values: .float64((0..<10).map(Double.init)))
        try writer.add("b", shape: [3], values: .int32([1, 2, 3]))
        var pieces: [[UInt8]] = []
        writer.write(maxChunkBytes: 16) { pieces.append(Array($0)) }
        #expect(pieces.first == writer.header)
        #expect(pieces.flatMap { $0 } == writer.bytes())
        #expect(pieces.dropFirst().allSatisfy { $0.count <= 16 })
    }

    @Test func badTensorsAreRefusedAndLeaveTheWriterAsItWas() throws {
        var writer = SafetensorsWriter()
        try writer.add("a", shape: [1], values: .int64([1]))
        let before = writer
        let duplicate = #expect(throws: TensorFileError.self) { try writer.add("a", shape: [1], values: .int64([2])) }
        #expect(duplicate?.description.contains("'a'") == true)
        let empty = #expect(throws: TensorFileError.self) { try writer.add("", shape: [1], values: .int64([2])) }
        #expect(empty?.description.contains("empty") == true)
        let reserved = #expect(throws: TensorFileError.self) {
            try writer.add("__metadata__", shape: [1], values: .int64([2]))
        }
        #expect(reserved?.description.contains("metadata") == true)
        let mismatch = #expect(throws: TensorFileError.self) { try writer.add("b", shape: [2, 2], values: .int64([2])) }
        #expect(mismatch?.description.contains("'b'") == true && mismatch?.description.contains("[2, 2]") == true)
        #expect(throws: TensorFileError.self) { try writer.add("c", shape: [-1], values: .int64([])) }
        #expect(writer == before)
    }
}
