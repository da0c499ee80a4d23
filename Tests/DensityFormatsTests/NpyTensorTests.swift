@testable import DensityFormats
import Foundation
import Testing

/// State arrays (`NpyTensor`) written by the real numpy: every dtype, both byte orders, C and Fortran
/// order, 0-d; compared byte for byte with numpy's own little-endian C-order dump.
@Suite struct NpyTensorTests {
    /// Writes `<name>.npy` and `<name>.raw` (numpy's `tobytes()` of the array in C order,
    /// little-endian) for each case, and `cases.json` with numpy's dtype name and shape.
    static let generator = #"""
import json, os, sys
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(7)
cases = []

def add(name, a):
    np.save(os.path.join(out, name + ".npy"), a)
    with open(os.path.join(out, name + ".raw"), "wb") as f:
        f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
    cases.append(dict(name=name, dtype=a.dtype.name, shape=list(a.shape),
                      fortran=bool(a.flags.f_contiguous and not a.flags.c_contiguous and a.ndim > 1),
                      big=a.dtype.byteorder == ">"))

for dtype in ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8", "b1"):
    for order in ("<", ">"):
        if dtype == "b1":
            base = rng.random((3, 5, 2)) < 0.5
        elif dtype[0] == "f":
            base = rng.standard_normal((3, 5, 2)) * 1000
        else:
            info = np.iinfo(np.dtype(dtype))
            base = rng.integers(info.min, min(info.max, 2**62), size=(3, 5, 2), endpoint=True)
        a = base.astype(np.dtype(order + dtype) if dtype not in ("i1", "u1", "b1") else dtype)
        tag = ("big_" if order == ">" else "") + dtype
        add("c3_" + tag, a)
        add("f3_" + tag, np.asfortranarray(a))
        add("f2_" + tag, np.asfortranarray(a[:, :, 0]))
        add("v_" + tag, a[0, :, 0].copy())
        add("s_" + tag, a[0:1, 0, 0].reshape(()).copy())
        add("one_" + tag, a[0, 0, :1].copy())
add("empty_i8", np.zeros((0, 4), dtype=np.int64))
add("u8_max_ok", np.array([2**63 - 1, 0], dtype=np.uint64))
np.save(os.path.join(out, "u8_too_big.npy"), np.array([5, 2**63], dtype=np.uint64))
np.save(os.path.join(out, "reject_f2.npy"), np.ones(3, dtype=np.float16))
np.save(os.path.join(out, "reject_c8.npy"), np.ones(3, dtype=np.complex64))
np.save(os.path.join(out, "reject_structured.npy"), np.zeros(3, dtype=[("x", "<i8"), ("y", "<i8")]))
np.save(os.path.join(out, "reject_str.npy"), np.array(["a", "b"]))
with open(os.path.join(out, "cases.json"), "w") as f:
    json.dump(cases, f)
print(len(cases))
"""#

    struct Case {
        var name: String
        var dtype: String
        var shape: [Int]
        var fortran: Bool
        var big: Bool
    }

    /// numpy's dtype names and the safetensors names they must become.
    static let safetensorsNames = [
        "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64", "uint8": "U8", "uint16": "U16",
        "uint32": "U32", "uint64": "U64", "float32": "F32", "float64": "F64", "bool": "BOOL",
    ]

    static func generate(in directory: URL) throws -> [Case] {
        let printed = try runPython(generator, arguments: [directory.path])
        let data = try Data(contentsOf: directory.appendingPathComponent("cases.json"))
        let list = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == String(list.count))
        return try list.map { item in
            Case(name: try #require(item["name"] as? String), dtype: try #require(item["dtype"] as? String),
                 shape: try #require(item["shape"] as? [Int]), fortran: try #require(item["fortran"] as? Bool),
                 big: try #require(item["big"] as? Bool))
        }
    }

    @Test func everyStateDTypeOrderAndShapeMatchesNumpysDump() throws {
        try withTemporaryDirectory { directory in
            let cases = try Self.generate(in: directory)
            #expect(cases.count == 134)   // 11 dtypes x 2 byte orders x 6 layouts, plus 2
            #expect(cases.contains { $0.fortran } && cases.contains { $0.big } && cases.contains { $0.shape.isEmpty })
            for item in cases {
                let path = directory.appendingPathComponent(item.name + ".npy").path
                let tensor = try NpyTensor(path: path)
                let raw = Array(try Data(contentsOf: directory.appendingPathComponent(item.name + ".raw")))
                #expect(tensor.dtype == Self.safetensorsNames[item.dtype], "\(item.name)")
                #expect(tensor.shape == item.shape, "\(item.name)")
                #expect(tensor.bytes == raw, "\(item.name)")
                #expect(tensor.elementCount * tensor.itemSize == raw.count, "\(item.name)")
                // The same bytes through the in-memory reader (an .npz entry's path).
                let fromBytes = try NpyTensor(npyBytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))), path: "x")
                #expect(fromBytes == tensor, "\(item.name)")
            }
        }
    }

    @Test func widenedIntegersKeepEveryValue() throws {
        try withTemporaryDirectory { directory in
            for item in try Self.generate(in: directory) where item.dtype.contains("int") {
                let tensor = try NpyTensor(path: directory.appendingPathComponent(item.name + ".npy").path)
                let file = SafetensorsFile(
                    source: "a", tensors: ["a": .init(dtype: tensor.dtype, shape: tensor.shape, range: 0..<tensor.bytes.count)],
                    data: tensor.bytes)
                let (dtype, bytes) = tensor.widenedIntegers()
                let widened = SafetensorsFile(
                    source: "b", tensors: ["b": .init(dtype: dtype, shape: tensor.shape, range: 0..<bytes.count)], data: bytes)
                #expect(["I32", "I64"].contains(dtype), "\(item.name)")
                if item.dtype != "uint64" {  // SafetensorsFile.integers has no U64; widening is its way in
                    #expect(try widened.integers("b") == file.integers("a"), "\(item.name)")
                }
            }
        }
    }

    @Test func uint64AboveInt64MaxIsRefusedWithTheIndex() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let path = directory.appendingPathComponent("u8_too_big.npy").path
            let message = npyErrorMessage { _ = try NpyTensor(path: path) }
            #expect(message.contains(path) && message.contains("9223372036854775808") && message.contains("index 1"),
                    "\(message)")
            let ok = try NpyTensor(path: directory.appendingPathComponent("u8_max_ok.npy").path)
            let (dtype, bytes) = ok.widenedIntegers()
            #expect(dtype == "I64")
            let file = SafetensorsFile(source: "x", tensors: ["x": .init(dtype: "I64", shape: [2], range: 0..<16)], data: bytes)
            #expect(try file.integers("x") == [Int64.max, 0])
        }
    }

    @Test(arguments: [
        ("reject_f2.npy", "float16"), ("reject_c8.npy", "complex64"),
        ("reject_structured.npy", "structured"), ("reject_str.npy", "str"),
    ])
    func otherDTypesAreRefusedByName(name: String, dtype: String) throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let path = directory.appendingPathComponent(name).path
            let message = npyErrorMessage { _ = try NpyTensor(path: path) }
            #expect(message.contains(path) && message.contains("state array") && message.contains(dtype), "\(message)")
        }
    }

    @Test func truncatedDataIsRefusedAtEveryLength() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let whole = Array(try Data(contentsOf: directory.appendingPathComponent("c3_big_i8.npy")))
            for length in 0..<whole.count {
                let path = try write(Array(whole.prefix(length)), to: "cut.npy", in: directory)
                let message = npyErrorMessage { _ = try NpyTensor(path: path) }
                #expect(message.contains("cut.npy"), "length \(length): \(message)")
            }
            let path = try write(Array(whole.dropLast(5)), to: "short.npy", in: directory)
            let message = npyErrorMessage { _ = try NpyTensor(path: path) }
            #expect(message.contains("int64") && message.contains("5 missing"), "\(message)")
        }
    }

    @Test func activationsStillRefuseWhatStatesAccept() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let scalar = npyErrorMessage { _ = try NpyFile(path: directory.appendingPathComponent("s_f4.npy").path) }
            #expect(scalar.contains("0-d (scalar)"), "\(scalar)")
            let integers = npyErrorMessage { _ = try NpyFile(path: directory.appendingPathComponent("v_i8.npy").path) }
            #expect(integers.contains("activations must be float16, float32 or float64; got int64"), "\(integers)")
        }
    }
}
