@testable import DensityFormats
import Foundation
import Testing

/// SAELens' `sparsity.safetensors`: the fixture read to its MANIFEST densities, files written here
/// checked by numpy against the correctly rounded float32 `log10(count / N + 1e-10)`, and round trips.
@Suite struct SAELensSparsityTests {
    /// Reads `counts.json` (`{"vectors": N, "counts": [...]}` per case) and the `.safetensors` file
    /// written for each case, parses the file by its documented layout, and compares its values
    /// with the correctly rounded float32 log10 of numpy's float32 density, computed through
    /// numpy's long double (64-bit significand) `log10`; prints a JSON report per case, with how
    /// many values numpy's own float32 `log10` gives differently (it is not correctly rounded).
    static let checker = #"""
import json, struct, sys
import numpy as np

assert np.finfo(np.longdouble).nmant >= 63, "needs an 80-bit long double (x86-64)"
report = []
for case in json.load(open(sys.argv[1])):
    data = open(case["path"], "rb").read()
    (length,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + length])
    counts = np.array(case["counts"], dtype=np.int64)
    x = counts.astype(np.float32) / np.float32(case["vectors"]) + np.float32(1e-10)
    expected = np.log10(x.astype(np.longdouble)).astype(np.float32)
    meta = header["sparsity"]
    begin, end = meta["data_offsets"]
    ours = np.frombuffer(data[8 + length + begin:8 + length + end], dtype="<f4")
    report.append(dict(
        keys=sorted(header.keys()), dtype=meta["dtype"], shape=meta["shape"], padded=length % 8 == 0,
        size_ok=len(data) == 8 + length + end, count=int(ours.size),
        mismatches=int(np.count_nonzero(ours.view(np.int32) != expected.view(np.int32))),
        numpy_float32_differs=int(np.count_nonzero(np.log10(x).view(np.int32) != expected.view(np.int32))),
        expected_bits=expected.view(np.uint32).tolist()))
print(json.dumps(report))
"""#

    /// Deterministic counts in `0...vectors`, with the edges.
    static func counts(vectors: Int64, count: Int, seed: UInt64) -> [Int64] {
        var state = seed
        var result: [Int64] = [0, vectors, min(1, vectors), max(0, vectors - 1), vectors / 2]
        while result.count < count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Double(state >> 11) / Double(1 << 53)
            // Log-uniform densities, as real SAEs have, plus some uniform ones.
            let density = result.count % 3 == 0 ? unit : pow(10, -8 * unit)
            result.append(min(vectors, Int64((density * Double(vectors)).rounded())))
        }
        return result
    }

    func safetensorsMessage(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let error = #expect(throws: SafetensorsError.self, sourceLocation: sourceLocation) { try body() }
        return error?.description ?? ""
    }

    /// A file with one tensor, built with the writer.
    func file(_ name: String = "sparsity", shape: [Int], values: TensorValues) throws -> SafetensorsFile {
        var writer = SafetensorsWriter()
        try writer.add(name, shape: shape, values: values)
        return try SafetensorsFile(bytes: writer.bytes(), source: "sparsity.safetensors")
    }

    // MARK: - The fixture

    @Test func theFixtureReadsToTheManifestDensities() throws {
        let entry = try Fixtures.entry("saelens_sparsity.safetensors")
        let stored = try #require(entry["sparsity"] as? [Double])
        let densities = try #require(entry["density"] as? [Double])
        let sparsity = try SAELensSparsity(path: Fixtures.path("saelens_sparsity.safetensors"))
        #expect(sparsity.log10Densities.map(Double.init) == stored)
        #expect(sparsity.densities.count == densities.count)
        for (read, want) in zip(sparsity.densities, densities) {
            #expect(abs(read - want) <= 3e-6 * want + 1e-15, "read \(read), MANIFEST \(want)")
        }
    }

    /// With N = 10^7 every MANIFEST density is a whole count; the estimate finds them, and writing
    /// them back gives the fixture's very bytes (the float32 densities are count / N rounded).
    @Test func theFixtureRoundTripsThroughCountsToTheSameBytes() throws {
        let densities = try #require(try Fixtures.entry("saelens_sparsity.safetensors")["density"] as? [Double])
        let vectors: Int64 = 10_000_000
        let estimate = try SAELensSparsity(path: Fixtures.path("saelens_sparsity.safetensors")).estimate(vectors: vectors)
        #expect(estimate.counts == densities.map { Int64(($0 * Double(vectors)).rounded()) })
        #expect(estimate.vectors == vectors && estimate.isApproximate)
        // Float32 storage alone: about density * 3e-7 at most (the counts here are exact).
        #expect(estimate.maxDensityError <= 3e-7 * densities.max()!)
        #expect(estimate.maxDensityError > 0)
        let fixture = Array(try Data(contentsOf: URL(fileURLWithPath: try Fixtures.path("saelens_sparsity.safetensors"))))
        #expect(try SAELensSparsity.fileBytes(counts: estimate.counts, vectors: vectors) == fixture)
    }

    // MARK: - Writing, checked by numpy

    @Test func writtenFilesHoldTheCorrectlyRoundedFloat32Values() throws {
        try withTemporaryDirectory { directory in
            let sizes: [Int64] = [1, 3, 1000, 4_096_000, (1 << 24) + 1, 1_000_000_000_007]
            var cases: [[String: Any]] = []
            var written: [[Int64]] = []
            for (index, vectors) in sizes.enumerated() {
                let counts = Self.counts(vectors: vectors, count: 2000, seed: UInt64(index + 1))
                let path = try write(try SAELensSparsity.fileBytes(counts: counts, vectors: vectors),
                                     to: "sparsity-\(index).safetensors", in: directory)
                cases.append(["vectors": Int(vectors), "counts": counts.map { Int($0) }, "path": path])
                written.append(counts)
            }
            let input = directory.appendingPathComponent("counts.json")
            try JSONSerialization.data(withJSONObject: cases).write(to: input)
            let output = try runPython(Self.checker, arguments: [input.path])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
            #expect(report.count == sizes.count)
            var numpyDiffers = 0
            for (index, item) in report.enumerated() {
                #expect(item["keys"] as? [String] == ["sparsity"], "no metadata, one tensor")
                #expect(item["dtype"] as? String == "F32" && item["shape"] as? [Int] == [written[index].count])
                #expect(item["padded"] as? Bool == true && item["size_ok"] as? Bool == true)
                #expect(item["mismatches"] as? Int == 0, "N = \(sizes[index]): values differ from the correctly rounded log10")
                numpyDiffers += item["numpy_float32_differs"] as? Int ?? 0
                // The same values through the Swift API.
                let expected = try #require(item["expected_bits"] as? [Int])
                let values = try SAELensSparsity.log10Densities(counts: written[index], vectors: sizes[index])
                #expect(values.map { Int($0.bitPattern) } == expected, "N = \(sizes[index])")
            }
            // The reason for the target: numpy's float32 log10 is not it on a good share of values.
            #expect(numpyDiffers > 0)
        }
    }

    @Test func countsRoundTripExactlyWhenTheWindowIsSmall() throws {
        for vectors: Int64 in [1, 7, 4096, 100_000] {
            let counts = Self.counts(vectors: vectors, count: 5000, seed: UInt64(vectors))
            let bytes = try SAELensSparsity.fileBytes(counts: counts, vectors: vectors)
            let sparsity = try SAELensSparsity(file: SafetensorsFile(bytes: bytes, source: "written"))
            let estimate = try sparsity.estimate(vectors: vectors)
            #expect(estimate.counts == counts, "N = \(vectors)")
            #expect(estimate.maxDensityError <= 0.5 / Double(vectors), "N = \(vectors): \(estimate.maxDensityError)")
            // Written again, the bytes are the same.
            #expect(try SAELensSparsity.fileBytes(counts: estimate.counts, vectors: vectors) == bytes)
        }
    }

    @Test func estimatesClampToTheWindowAndReportTheirError() throws {
        // -10.5 is below a dead feature's -10 (a negative density); 1e-7 is a hair above 0 (density > 1).
        let values: [Float] = [-10.5, -10, 1e-7, 0, -0.30103]
        let sparsity = try SAELensSparsity(file: file(shape: [5], values: .float32(values)))
        let estimate = try sparsity.estimate(vectors: 1000)
        #expect(estimate.counts[0] == 0 && estimate.counts[1] == 0)
        #expect(estimate.counts[2] == 1000 && estimate.counts[3] == 1000)
        #expect(estimate.counts[4] == Int64((sparsity.densities[4] * 1000).rounded()))
        let worst = zip(sparsity.densities, estimate.counts).map { abs($0 - Double($1) / 1000) }.max()
        #expect(estimate.maxDensityError == worst)
    }

    // MARK: - Refusals

    @Test func badValuesAreRefusedWithTheIndex() throws {
        for (value, word) in [(Float.nan, "nan"), (.infinity, "inf"), (-.infinity, "-inf"), (0.5, "above 1")] {
            let text = safetensorsMessage {
                _ = try SAELensSparsity(file: file(shape: [3], values: .float32([-3, value, -2])))
            }
            #expect(text.contains("sparsity.safetensors") && text.contains("index 1") && text.contains(word), "\(text)")
        }
    }

    @Test func wrongTensorsAreRefusedSayingWhatWasFound() throws {
        let missing = safetensorsMessage {
            _ = try SAELensSparsity(file: file("feature_sparsity", shape: [2], values: .float32([-1, -2])))
        }
        #expect(missing.contains("'sparsity'") && missing.contains("'feature_sparsity'"), "\(missing)")
        #expect(!missing.contains("neuron_fired_count"), "\(missing)")
        let wide = safetensorsMessage { _ = try SAELensSparsity(file: file(shape: [2], values: .float64([-1, -2]))) }
        #expect(wide.contains("F64") && wide.contains("F32"), "\(wide)")
        let shaped = safetensorsMessage { _ = try SAELensSparsity(file: file(shape: [2, 1], values: .float32([-1, -2]))) }
        #expect(shaped.contains("[2, 1]") && shaped.contains("[d_sae]"), "\(shaped)")
        let empty = safetensorsMessage { _ = try SAELensSparsity(file: file(shape: [0], values: .float32([]))) }
        #expect(empty.contains("[0]"), "\(empty)")
    }

    @Test func badVectorCountsAndCountsAreRefused() throws {
        let sparsity = try SAELensSparsity(file: file(shape: [1], values: .float32([-1])))
        for vectors: Int64 in [0, -5] {
            #expect(throws: SAELensError.invalidVectorCount(vectors)) { try sparsity.estimate(vectors: vectors) }
            #expect(throws: SAELensError.invalidVectorCount(vectors)) {
                try SAELensSparsity.fileBytes(counts: [0], vectors: vectors)
            }
        }
        #expect(throws: SAELensError.countOutOfRange(index: 1, count: 11, vectors: 10)) {
            try SAELensSparsity.fileBytes(counts: [0, 11], vectors: 10)
        }
        #expect(throws: SAELensError.countOutOfRange(index: 0, count: -1, vectors: 10)) {
            try SAELensSparsity.fileBytes(counts: [-1], vectors: 10)
        }
        #expect(throws: SAELensError.noFeatures) { try SAELensSparsity.fileBytes(counts: [], vectors: 10) }
        #expect(SAELensError.invalidVectorCount(0).description.contains("positive"))
    }
}
