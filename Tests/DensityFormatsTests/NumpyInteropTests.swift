@testable import DensityFormats
import DensityMetric
import Foundation
import Testing

/// Files written by the real numpy at test time, compared value by value with numpy's own C-order dump.
///
/// Needs `python3` with numpy on PATH (CI has both); without them these tests fail and say so.
@Suite struct NumpyInteropTests {
    /// One array numpy wrote, as described by the generator's `cases.json`.
    struct Case {
        var name: String
        var descr: String
        var shape: [Int]
        var fortran: Bool
        var version: Int
        var fired: [Int64]
        var nonFinite: Int64
        var npyPath: String
        var rawPath: String
    }

    /// Writes `<name>.npy` with numpy and `<name>.raw`, its C-order little-endian `tobytes()`, plus
    /// what numpy counts as fired (`a > 0` per position after the first axis) and non-finite.
    static let generator = #"""
import json, os, sys
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(20240611)
cases = []

def add(name, a, version=None):
    path = os.path.join(out, name + ".npy")
    if version is None:
        np.save(path, a)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    with open(os.path.join(out, name + ".raw"), "wb") as f:
        f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
    fired = (a > 0).sum(axis=0).reshape(-1).tolist()
    cases.append(dict(name=name, descr=np.lib.format.dtype_to_descr(a.dtype), shape=list(a.shape),
                      fortran=bool(a.flags.f_contiguous and not a.flags.c_contiguous),
                      version=list(version or (1, 0))[0], fired=fired,
                      non_finite=int((~np.isfinite(a)).sum())))

def activations(shape, dtype):
    a = rng.standard_normal(shape)
    a[rng.random(shape) < 0.2] = 0.0   # exact zeros never fire
    return a.astype(dtype)

for dtype in ("<f2", "<f4", "<f8"):
    for shape in ((37, 11), (13, 3, 7)):
        a = activations(shape, dtype)
        tag = dtype[1:] + "_" + "x".join(map(str, shape))
        add("c_" + tag, a)
        add("fortran_" + tag, np.asfortranarray(a))

add("big_f2_c", activations((9, 5), ">f2"))
add("big_f4_fortran", np.asfortranarray(activations((10, 2, 6), ">f4")))
add("big_f8_c", activations((6, 4), ">f8"))
add("fortran_4d_f4", np.asfortranarray(activations((5, 2, 3, 4), "<f4")))
add("v2_f4", activations((8, 3, 5), "<f4"), version=(2, 0))
add("v3_f8_fortran", np.asfortranarray(activations((7, 9), "<f8")), version=(3, 0))
special = activations((12, 6), "<f4")
special[0, :3] = [np.nan, np.inf, -np.inf]
special[1, :3] = [np.float32(1e-45), -0.0, np.float32(np.finfo(np.float32).tiny)]
add("nonfinite_f4", special)

# Files that must be refused.
np.save(os.path.join(out, "reject_int64.npy"), np.arange(6, dtype=np.int64).reshape(2, 3))
np.save(os.path.join(out, "reject_bool.npy"), np.ones((2, 3), dtype=bool))
np.save(os.path.join(out, "reject_complex.npy"), np.ones((2, 3), dtype=np.complex64))
np.save(os.path.join(out, "reject_scalar.npy"), np.float32(3.5))
np.save(os.path.join(out, "reject_structured.npy"), np.zeros(3, dtype=[("x", "<f4"), ("y", "<i8")]))
np.save(os.path.join(out, "reject_object.npy"), np.array([[1.0, None]], dtype=object), allow_pickle=True)

with open(os.path.join(out, "cases.json"), "w") as f:
    json.dump(cases, f)
print(len(cases))
"""#

    /// Runs the generator into `directory` and returns its cases.
    static func generate(in directory: URL) throws -> [Case] {
        let printed = try runPython(generator, arguments: [directory.path])
        let data = try Data(contentsOf: directory.appendingPathComponent("cases.json"))
        let list = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == String(list.count))
        return try list.map { item in
            let name = try #require(item["name"] as? String)
            return Case(
                name: name,
                descr: try #require(item["descr"] as? String),
                shape: try #require(item["shape"] as? [Int]),
                fortran: try #require(item["fortran"] as? Bool),
                version: try #require(item["version"] as? Int),
                fired: try flattenedInts(item["fired"]),
                nonFinite: try #require(item["non_finite"] as? Int64),
                npyPath: directory.appendingPathComponent(name + ".npy").path,
                rawPath: directory.appendingPathComponent(name + ".raw").path)
        }
    }

    static func raw(_ item: Case) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: item.rawPath)))
    }

    // MARK: - Tests

    @Test func pythonWithNumpyIsAvailable() throws {
        let version = try runPython("import numpy; print(numpy.__version__)")
        #expect(!version.isEmpty)
    }

    @Test func headersMatchWhatNumpyWrote() throws {
        try withTemporaryDirectory { directory in
            let cases = try Self.generate(in: directory)
            #expect(cases.count == 19)
            #expect(cases.contains { $0.fortran } && cases.contains { $0.descr.hasPrefix(">") })
            for item in cases {
                let header = try NpyFile(path: item.npyPath).header
                #expect(header.shape == item.shape, "\(item.name)")
                #expect(header.fortranOrder == item.fortran, "\(item.name)")
                #expect(Int(header.version) == item.version, "\(item.name)")
                #expect(header.byteOrder == (item.descr.hasPrefix(">") ? .big : .little), "\(item.name)")
                let size = Int(item.descr.dropFirst(2)) ?? 0
                #expect(header.dtype.itemSize == size, "\(item.name)")
            }
        }
    }

    @Test func valuesMatchNumpysCOrderDumpExactly() throws {
        try withTemporaryDirectory { directory in
            for item in try Self.generate(in: directory) {
                let file = try NpyFile(path: item.npyPath)
                let expected = try Self.raw(item)
                #expect(rawBytes(try file.readAll().values) == expected, "\(item.name), whole")
                for rows in [1, 4, item.shape[0]] {
                    let joined = try batches(of: file, maxRowsPerBatch: rows).flatMap { rawBytes($0.values) }
                    #expect(joined == expected, "\(item.name), batches of \(rows) rows")
                }
            }
        }
    }

    /// With tiny chunks, Fortran-order files take the path of large files: one read per value of a row.
    @Test(arguments: [1, 200, 1000])
    func fortranChunksMatchNumpy(chunkBytes: Int) throws {
        try withTemporaryDirectory { directory in
            let fortranCases = try Self.generate(in: directory).filter(\.fortran)
            #expect(fortranCases.count == 9)
            for item in fortranCases {
                let file = try NpyFile(path: item.npyPath, fortranChunkBytes: chunkBytes)
                let expected = try Self.raw(item)
                for rows in [1, 3, 5] {
                    let parts = try batches(of: file, maxRowsPerBatch: rows)
                    #expect(parts.map(\.firstRow) == Array(stride(from: 0, to: item.shape[0], by: rows)), "\(item.name)")
                    #expect(parts.flatMap { rawBytes($0.values) } == expected, "\(item.name), chunks of \(chunkBytes) bytes, \(rows) rows")
                }
                #expect(rawBytes(try file.readAll().values) == expected, "\(item.name), whole")
            }
        }
    }

    @Test func metricCountsMatchNumpysComparison() throws {
        try withTemporaryDirectory { directory in
            let cases = try Self.generate(in: directory).filter { $0.shape.count == 2 || $0.shape.count == 3 }
            #expect(cases.count == 18)
            for item in cases {
                let file = try NpyFile(path: item.npyPath)
                var metric = try FeatureDensityMetric(numLearnedFeatures: item.shape[item.shape.count - 1],
                                                      numComponents: item.shape.count == 3 ? item.shape[1] : nil)
                try metric.update(contentsOf: file, maxRowsPerBatch: 5)
                #expect(metric.state.counts == item.fired, "\(item.name)")
                #expect(metric.state.vectors == Int64(item.shape[0]), "\(item.name)")
                #expect(metric.state.nonFinite == item.nonFinite, "\(item.name)")
            }
            let special = try #require(cases.first { $0.name == "nonfinite_f4" })
            #expect(special.nonFinite == 3)
            guard case let .float32(values) = try NpyFile(path: special.npyPath).readAll().values else {
                Issue.record("expected float32 values")
                return
            }
            #expect(values[0].isNaN && values[1] == .infinity && values[2] == -.infinity)
            #expect(values[6] == .leastNonzeroMagnitude && values[7] == 0 && values[7].sign == .minus)
        }
    }

    @Test(arguments: [
        ("reject_int64.npy", "got int64 ('<i8')"),
        ("reject_bool.npy", "got bool ('|b1')"),
        ("reject_complex.npy", "got complex64 ('<c8')"),
        ("reject_object.npy", "got object ('|O')"),
        ("reject_structured.npy", "got a structured dtype [('x', '<f4'), ('y', '<i8')]"),
        ("reject_scalar.npy", "holds a 0-d (scalar) array"),
    ])
    func refusesWhatNumpyWritesForOtherTypes(name: String, problem: String) throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let message = npyErrorMessage { _ = try NpyFile(path: directory.appendingPathComponent(name).path) }
            #expect(message.contains(name))
            #expect(message.contains(problem), "message: \(message)")
        }
    }
}
