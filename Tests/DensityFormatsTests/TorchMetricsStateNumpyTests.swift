import DensityFormats
import DensityMetric
import Foundation
import Testing

/// Metric states saved by the real numpy (`np.savez`, `np.savez_compressed`, `np.save` pairs) read
/// as ``TorchMetricsState``, with the values numpy reports; bad states refused with clear messages.
@Suite struct TorchMetricsStateNumpyTests {
    /// Writes one archive per case and `cases.json` with what numpy holds in each (counts in C order).
    static let generator = #"""
import json, os, sys
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(11)
cases = []
index = 0
for writer in ("savez", "savez_compressed"):
    for dtype in ("<i8", "<i4", "<f4", "<f8", ">i8", ">f4", "<u8", "<i2"):
        for shape in ((7,), (3, 5)):
            for variant in range(4):
                index += 1
                n = 1000 + index
                counts = rng.integers(0, n + 1, size=shape).astype(np.dtype(dtype))
                if len(shape) == 2 and variant % 2 == 0:
                    counts = np.asfortranarray(counts)
                vectors = np.array(n, dtype=np.int64).reshape(() if variant < 2 else (1,))
                arrays = dict(neuron_fired_count=counts, num_activation_vectors=vectors)
                step = None
                if variant in (1, 3):
                    step = 100 * index
                    arrays["step"] = np.int64(step)
                name = f"{writer}_{index}.npz"
                getattr(np, writer)(os.path.join(out, name), **arrays)
                cases.append(dict(file=name, dtype=dtype, shape=list(shape), counts=counts.astype(np.int64).reshape(-1).tolist(),
                                  vectors=n, step=step, fortran=bool(counts.flags.f_contiguous and counts.ndim > 1)))

np.savez_compressed(os.path.join(out, "all_zero.npz"), neuron_fired_count=np.zeros(1_000_000, dtype=np.int64),
                    num_activation_vectors=np.int64(0))
np.savez(os.path.join(out, "wrong_names.npz"), counts=np.arange(3), n=np.int64(5))
np.savez(os.path.join(out, "fractional.npz"), neuron_fired_count=np.array([1.0, 1.5, 2.0], dtype=np.float32),
         num_activation_vectors=np.int64(5))
np.savez(os.path.join(out, "negative.npz"), neuron_fired_count=np.array([3, -2, 1]), num_activation_vectors=np.int64(5))
np.savez(os.path.join(out, "bool_counts.npz"), neuron_fired_count=np.array([True, False]), num_activation_vectors=np.int64(5))
np.savez(os.path.join(out, "big_f32.npz"), neuron_fired_count=np.array([2.0**25, 3], dtype=np.float32),
         num_activation_vectors=np.int64(2**26))
np.save(os.path.join(out, "counts.npy"), np.array([[4, 0, 9], [1, 2, 3]], dtype=">i4", order="F"))
np.save(os.path.join(out, "vectors.npy"), np.int64(9))
np.save(os.path.join(out, "vectors_1.npy"), np.array([9], dtype=np.int64))
np.save(os.path.join(out, "step.npy"), np.int64(4200))
np.save(os.path.join(out, "neg_counts.npy"), np.array([1, -1], dtype=np.int64))
np.save(os.path.join(out, "neg_vectors.npy"), np.int64(-3))
np.save(os.path.join(out, "frac_counts.npy"), np.array([0.25, 1], dtype=np.float64))
np.save(os.path.join(out, "two_steps.npy"), np.array([1, 2], dtype=np.int64))
with open(os.path.join(out, "cases.json"), "w") as f:
    json.dump(dict(cases=cases, pair=np.array([[4, 0, 9], [1, 2, 3]]).reshape(-1).tolist()), f)
print(len(cases))
"""#

    struct Case {
        var file: String
        var dtype: String
        var shape: [Int]
        var counts: [Int64]
        var vectors: Int64
        var step: Int64?
        var fortran: Bool
    }

    static func generate(in directory: URL) throws -> (cases: [Case], pair: [Int64]) {
        let printed = try runPython(generator, arguments: [directory.path])
        let data = try Data(contentsOf: directory.appendingPathComponent("cases.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try #require(json["cases"] as? [[String: Any]])
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == String(list.count))
        let cases = try list.map { item in
            Case(file: try #require(item["file"] as? String), dtype: try #require(item["dtype"] as? String),
                 shape: try #require(item["shape"] as? [Int]), counts: try flattenedInts(item["counts"]),
                 vectors: try #require((item["vectors"] as? NSNumber)?.int64Value),
                 step: (item["step"] as? NSNumber)?.int64Value, fortran: try #require(item["fortran"] as? Bool))
        }
        return (cases, try flattenedInts(json["pair"]))
    }

    /// Runs `body`, expecting one of the error types a numpy state can raise, and returns its message.
    func message(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            try body()
            Issue.record("expected an error", sourceLocation: sourceLocation)
            return ""
        } catch let error as SafetensorsError {
            return error.description
        } catch let error as NpzError {
            return error.description
        } catch let error as NpyError {
            return error.description
        } catch {
            Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
            return ""
        }
    }

    // MARK: - Archives

    @Test func everyArchiveNumpyWroteReadsToItsValues() throws {
        try withTemporaryDirectory { directory in
            let (cases, _) = try Self.generate(in: directory)
            #expect(cases.count == 128)
            #expect(cases.contains { $0.fortran } && cases.contains { $0.step == nil } && cases.contains { $0.step != nil })
            for item in cases {
                let state = try TorchMetricsState(npz: directory.appendingPathComponent(item.file).path)
                #expect(state.counts == item.counts, "\(item.file) (\(item.dtype), \(item.shape))")
                #expect(state.shape == item.shape, "\(item.file)")
                #expect(state.vectors == item.vectors, "\(item.file)")
                #expect(state.step == item.step, "\(item.file)")
                #expect(state.warnings.isEmpty, "\(item.file)")
            }
        }
    }

    @Test func theFixtureArchiveGivesTheManifestValues() throws {
        let entry = try Fixtures.entry("state_pair.npz")
        let state = try TorchMetricsState(npz: Fixtures.path("state_pair.npz"))
        #expect(state.counts == (try flattenedInts(entry["neuron_fired_count"])))
        #expect(state.vectors == (entry["num_activation_vectors"] as? NSNumber)?.int64Value)
        #expect(state.shape == [state.counts.count])
        let exact = try state.state(features: state.counts.count, components: nil)
        #expect(exact.vectors == state.vectors)
    }

    /// An all-zero state compresses about 1028:1, close to deflate's limit; it must still be read.
    @Test func aMaximallyCompressedStateIsNotMistakenForABomb() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let path = directory.appendingPathComponent("all_zero.npz").path
            let archive = try NpzArchive(path: path)
            let counts = try #require(archive.entries.first { $0.arrayName == "neuron_fired_count" })
            #expect(counts.uncompressedSize > 1000 * counts.compressedSize)
            let state = try TorchMetricsState(npz: path)
            #expect(state.counts.count == 1_000_000 && state.counts.allSatisfy { $0 == 0 } && state.vectors == 0)
        }
    }

    @Test func wrongNamesListWhatWasFoundAndWhatIsExpected() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let path = directory.appendingPathComponent("wrong_names.npz").path
            let text = message { _ = try TorchMetricsState(npz: path) }
            for word in [path, "'counts'", "'n'", "'neuron_fired_count'", "'num_activation_vectors'", "np.savez("] {
                #expect(text.contains(word), "\(text)")
            }
        }
    }

    @Test(arguments: [
        ("fractional.npz", ["1.5", "not a whole number"]),
        ("negative.npz", ["negative count -2", "index 1"]),
        ("bool_counts.npz", ["dtype BOOL", "I64"]),
    ])
    func badCountsAreRefusedNamingTheArchive(name: String, words: [String]) throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let path = directory.appendingPathComponent(name).path
            let text = message { _ = try TorchMetricsState(npz: path) }
            #expect(text.contains("'\(path)'"), "\(text)")
            for word in words { #expect(text.contains(word), "\(text)") }
        }
    }

    @Test func float32CountsPast2To24WarnAsFromSafetensors() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let path = directory.appendingPathComponent("big_f32.npz").path
            let state = try TorchMetricsState(npz: path)
            #expect(state.counts == [1 << 25, 3])
            #expect(state.warnings.count == 1)
            #expect(state.warnings.first?.contains(path) == true && state.warnings.first?.contains("2^24") == true)
        }
    }

    // MARK: - .npy pairs

    @Test func anNpyPairReadsWithOrWithoutAStep() throws {
        try withTemporaryDirectory { directory in
            let (_, pair) = try Self.generate(in: directory)
            func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
            let state = try TorchMetricsState(npyCounts: path("counts.npy"), npyVectors: path("vectors.npy"),
                                              npyStep: path("step.npy"))
            #expect(state.counts == pair && state.shape == [2, 3] && state.vectors == 9 && state.step == 4200)
            let noStep = try TorchMetricsState(npyCounts: path("counts.npy"), npyVectors: path("vectors_1.npy"))
            #expect(noStep.counts == pair && noStep.vectors == 9 && noStep.step == nil)
        }
    }

    @Test func pairMessagesNameTheFileAtFault() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
            let cases: [(counts: String, vectors: String, step: String?, culprit: String, word: String)] = [
                ("neg_counts.npy", "vectors.npy", nil, "neg_counts.npy", "negative count -1"),
                ("frac_counts.npy", "vectors.npy", nil, "frac_counts.npy", "0.25"),
                ("counts.npy", "neg_vectors.npy", nil, "neg_vectors.npy", "is negative (-3)"),
                ("counts.npy", "vectors.npy", "two_steps.npy", "two_steps.npy", "one non-negative integer"),
                ("counts.npy", "counts.npy", nil, "counts.npy", "num_activation_vectors"),
                ("counts.npy", "missing.npy", nil, "missing.npy", "cannot read"),
            ]
            for item in cases {
                let text = message {
                    _ = try TorchMetricsState(npyCounts: path(item.counts), npyVectors: path(item.vectors),
                                              npyStep: item.step.map(path))
                }
                #expect(text.contains("'\(path(item.culprit))'"), "\(item.culprit): \(text)")
                #expect(text.contains(item.word), "\(item.culprit): \(text)")
            }
        }
    }
}
