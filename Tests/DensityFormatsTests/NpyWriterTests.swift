@testable import DensityFormats
import Foundation
import Testing

/// ``NpyWriter``: the bytes of numpy's documented `.npy` 1.0 layout, the very bytes `np.save` writes
/// for the same array, and files that `np.load` reads back bit for bit.
@Suite struct NpyWriterTests {
    // MARK: - The documented layout

    @Test func documentedLayoutByteForByte() throws {
        let writer = try NpyWriter(.float64([1.5, -2]), shape: [2])
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
        // 20 spaces of room for the first dimension to grow to 21 digits, then padding so that the
        // data starts at 128, the next multiple of 64 after 10 + 57 + 20 + 1 bytes.
        let text = dict + String(repeating: " ", count: 20) + String(repeating: " ", count: 40) + "\n"
        let expected: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00] + Array(text.utf8)
            + [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x3F]  // 1.5
            + [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0]  // -2.0
        #expect(text.utf8.count == 0x76)
        #expect(writer.bytes() == expected)
        #expect(writer.dataOffset == 128)
        #expect(writer.byteCount == 144)
        #expect(writer.header == Array(expected.prefix(128)))
    }

    @Test func integersAreLittleEndianTwosComplement() throws {
        let writer = try NpyWriter(.int64([1, -1, .min]), shape: [3])
        #expect(Array(writer.bytes().suffix(24)) == [1, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8)
            + [0, 0, 0, 0, 0, 0, 0, 0x80])
        let small = try NpyWriter(.int32([2, -2]), shape: [1, 2])
        #expect(Array(small.bytes().suffix(8)) == [2, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF])
        let single = try NpyWriter(.float32([1]), shape: [1])
        #expect(Array(single.bytes().suffix(4)) == [0x00, 0x00, 0x80, 0x3F])
    }

    /// The header rules, for shapes of every rank we write and the corner cases of the padding.
    @Test(arguments: [[], [0], [6], [2, 6], [3, 0], [123_456_789_012, 0], [0] + Array(repeating: 10, count: 9) + [100]])
    func headerFollowsTheRules(_ shape: [Int]) throws {
        let count = shape.reduce(1, *)
        for values in [TensorValues.float64(Array(repeating: 0, count: count)), .int64(Array(repeating: 0, count: count)),
                       .float32(Array(repeating: 0, count: count)), .int32(Array(repeating: 0, count: count))] {
            let header = try NpyWriter(values, shape: shape).header
            #expect(header.count % 64 == 0, "the data must start at a multiple of 64")
            #expect(Array(header.prefix(8)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
            #expect(Int(header[8]) | Int(header[9]) << 8 == header.count - 10)
            let text = String(decoding: header.dropFirst(10), as: UTF8.self)
            let tuple = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
            let dict = "{'descr': '\(values.npyDescr)', 'fortran_order': False, 'shape': \(tuple), }"
            #expect(text.hasPrefix(dict))
            #expect(text.hasSuffix("\n"))
            let padding = text.dropFirst(dict.count).dropLast()
            #expect(padding.allSatisfy { $0 == " " })
            let growth = shape.first.map { 21 - String($0).count } ?? 0
            // numpy's _wrap_header: 1 to 64 spaces after the growth room, never 0.
            #expect((growth + 1)...(growth + 64) ~= padding.count, "\(padding.count) spaces after \(dict)")
        }
    }

    // MARK: - numpy

    /// One array of the numpy comparison.
    struct Case {
        var name: String
        var values: TensorValues
        var shape: [Int]

        /// The values' bits as numpy's `view` of the same-size signed integer gives them.
        var bits: [Int64] {
            switch values {
            case let .float64(v): v.map { Int64(bitPattern: $0.bitPattern) }
            case let .float32(v): v.map { Int64(Int32(bitPattern: $0.bitPattern)) }
            case let .int64(v): v
            case let .int32(v): v.map(Int64.init)
            }
        }
    }

    static let numpyCases: [Case] = [
        Case(name: "density", values: .float64([0, 1, 0.5, 1e-10, .leastNonzeroMagnitude, -0.0, .infinity, -.infinity, .nan,
                                                Double(bitPattern: 0x7FF0_0000_0000_0001), .greatestFiniteMagnitude]),
             shape: [11]),
        Case(name: "counts", values: .int64([0, 1, -1, .max, .min, 16_777_217, 4, 6, 5, 4, 7, 5]), shape: [2, 6]),
        Case(name: "float32", values: .float32((0..<12).map { Float($0) / 3 } + [.nan]), shape: [13]),
        Case(name: "int32", values: .int32([.min, -1, 0, 1, .max, 42]), shape: [3, 2]),
        Case(name: "scalar", values: .int64([10]), shape: []),
        Case(name: "empty", values: .float64([]), shape: [0]),
        Case(name: "empty2d", values: .int64([]), shape: [3, 0]),
        Case(name: "aligned", values: .float64([]), shape: [0] + Array(repeating: 10, count: 9) + [100]),
        Case(name: "wide", values: .float64((0..<1000).map { Double($0) / 999 }), shape: [1, 1000]),
    ]

    /// numpy loads each file, reports dtype, shape, order and bits, and saves the loaded array
    /// again with `np.save` as `<name>.ref.npy`.
    static let numpyScript = #"""
import json, os, sys
import numpy as np

folder, names = sys.argv[1], sys.argv[2:]
out = {}
for name in names:
    a = np.load(os.path.join(folder, name + ".npy"))
    np.save(os.path.join(folder, name + ".ref.npy"), a)
    bits = a.reshape(-1).view("<i%d" % a.dtype.itemsize).astype(np.int64).tolist()
    out[name] = dict(descr=a.dtype.str, shape=list(a.shape), c_order=bool(a.flags.c_contiguous), bits=bits)
json.dump(out, sys.stdout)
"""#

    struct Loaded: Decodable {
        var descr: String
        var shape: [Int]
        var c_order: Bool
        var bits: [Int64]
    }

    @Test func numpyLoadsItAndSavesTheSameBytes() throws {
        try withTemporaryDirectory { folder in
            var writers: [String: NpyWriter] = [:]
            for c in Self.numpyCases {
                let writer = try NpyWriter(c.values, shape: c.shape)
                try write(writer.bytes(), to: c.name + ".npy", in: folder)
                writers[c.name] = writer
            }
            let output = try runPython(Self.numpyScript, arguments: [folder.path] + Self.numpyCases.map(\.name))
            let loaded = try JSONDecoder().decode([String: Loaded].self, from: Data(output.utf8))
            for c in Self.numpyCases {
                let result = try #require(loaded[c.name], "numpy did not load \(c.name)")
                #expect(result.descr == c.values.npyDescr, "\(c.name)")
                #expect(result.shape == c.shape, "\(c.name)")
                #expect(result.c_order, "\(c.name)")
                #expect(result.bits == c.bits, "\(c.name): the values numpy read differ")
                let reference = try [UInt8](Data(contentsOf: folder.appendingPathComponent(c.name + ".ref.npy")))
                let ours = try #require(writers[c.name]).bytes()
                #expect(ours == reference, "\(c.name): np.save writes other bytes:\n\(Self.describe(reference))\nours:\n\(Self.describe(ours))")
            }
        }
    }

    /// Our own reader reads what the writer writes (the float types it accepts).
    @Test func npyFileReadsItBack() throws {
        try withTemporaryDirectory { folder in
            let doubles = (0..<30).map { Double($0) / 7 }
            let path = try write(try NpyWriter(.float64(doubles), shape: [5, 6]).bytes(), to: "d.npy", in: folder)
            let file = try NpyFile(path: path)
            #expect(file.shape == [5, 6] && file.header.dtype == .float64 && !file.header.fortranOrder)
            guard case let .float64(read) = try file.readAll().values else { Issue.record("not float64"); return }
            #expect(read == doubles)
        }
    }

    // MARK: - Streaming and refusals

    @Test(arguments: [1, 8, 24, 100, 1 << 20])
    func piecesMakeUpTheFile(_ maxChunkBytes: Int) throws {
        let writer = try NpyWriter(.float64((0..<37).map(Double.init)), shape: [37])
        var pieces: [[UInt8]] = []
        writer.write(maxChunkBytes: maxChunkBytes) { pieces.append(Array($0)) }
        #expect(pieces.first == writer.header)
        #expect(pieces.flatMap { $0 } == writer.bytes())
        for piece in pieces.dropFirst() {
            #expect(piece.count % 8 == 0 && piece.count <= max(8, maxChunkBytes))
        }
    }

    @Test func badShapesAreRefused() throws {
        let mismatch = #expect(throws: TensorFileError.self) { try NpyWriter(.float64([1, 2, 3]), shape: [2, 2]) }
        #expect(mismatch?.description.contains("[2, 2]") == true && mismatch?.description.contains("3") == true)
        let negative = #expect(throws: TensorFileError.self) { try NpyWriter(.float64([]), shape: [-1, 0]) }
        #expect(negative?.description.contains("negative") == true)
        let deep = #expect(throws: TensorFileError.self) {
            try NpyWriter(.float64([1]), shape: Array(repeating: 1, count: 65))
        }
        #expect(deep?.description.contains("64") == true)
        #expect(throws: TensorFileError.self) { try NpyWriter(.int64([1]), shape: [0]) }
        #expect(throws: TensorFileError.self) { try NpyWriter(.int64([1, 2]), shape: []) }
    }

    static func describe(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(256).map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x2E }, as: UTF8.self)
    }
}
