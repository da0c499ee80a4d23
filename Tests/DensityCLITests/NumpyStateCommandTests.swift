import Foundation
import Testing

/// `density checkpoint` with numpy's files (.npz, a .npy pair) and SAELens' sparsity file, and
/// `density export --format saelens`.
@Suite struct NumpyStateCommandTests {
    static func counts(_ box: Sandbox, run: String = "r", at step: Int64) throws -> (counts: [Int64], vectors: Int64) {
        _ = try box.ok(["export", run, "--step", String(step), "--what", "counts", "--format", "json", "--out", box.path("c\(step).json"), "--force"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: box.path("c\(step).json")))) as? [String: Any])
        return ((object["values"] as? [NSNumber] ?? []).map(\.int64Value), (object["vectors"] as? NSNumber)?.int64Value ?? -1)
    }

    @Test func npzAndNpyPairsFromNumpyAreStoredExactly() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "3", "--components", "2"])
            _ = try Numpy.run("""
                import numpy as np
                np.savez("s1.npz", neuron_fired_count=np.array([[1, 0, 2], [0, 0, 5]], dtype=np.int32), num_activation_vectors=np.int64(6), step=np.int64(10))
                np.savez_compressed("s2.npz", neuron_fired_count=np.array([[3, 0, 2], [1, 0, 9]], dtype=np.float32), num_activation_vectors=np.array([12]))
                np.save("neuron_fired_count.npy", np.asfortranarray(np.array([[4, 1, 2], [1, 0, 9]], dtype=">i8")))
                np.save("num_activation_vectors.npy", np.int64(13))
                """, [], in: box)
            try box.ok(["checkpoint", "r", box.path("s1.npz")])
            try box.ok(["checkpoint", "r", "--step", "20", box.path("s2.npz")])
            try box.ok(["checkpoint", "r", "--step", "30", box.path("neuron_fired_count.npy"), box.path("num_activation_vectors.npy")])
            #expect(try Self.counts(box, at: 10) == ([1, 0, 2, 0, 0, 5], 6))
            #expect(try Self.counts(box, at: 20) == ([3, 0, 2, 1, 0, 9], 12))
            #expect(try Self.counts(box, at: 30) == ([4, 1, 2, 1, 0, 9], 13))
            try box.fails(["checkpoint", "r", "--step", "40", box.path("s1.npz"), box.path("s2.npz")], mentioning: [".npy pair"])
        }
    }

    @Test func saelensSparsityImportsApproximatelyAndExportsLikeSAELens() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "5"])
            // The fixture: densities 0, 1e-3, 0.05, 0.5, 1e-7 (log10(density + 1e-10), float32).
            let fixture = CheckpointCommandTests.fixture("saelens_sparsity.safetensors")
            let vectors: Int64 = 10_000_000
            let result = try box.db(["checkpoint", "r", "--step", "100", "--saelens-vectors", String(vectors), fixture])
            #expect(result.status == 0 && result.stderr.contains("approximate"), "\(result)")
            let stored = try Self.counts(box, at: 100)
            #expect(stored.vectors == vectors)
            #expect(stored.counts == [0, 10_000, 500_000, 5_000_000, 1])
            let show = try #require(try JSONSerialization.jsonObject(with: Data(box.ok(["show", "r", "--format", "json"]).utf8)) as? [String: Any])
            #expect(show["approximate"] as? Bool == true)
            // The same import again changes nothing; a second window adds on top.
            #expect(try box.db(["checkpoint", "r", "--step", "100", "--saelens-vectors", String(vectors), fixture]).stderr.contains("already stored"))
            try box.ok(["checkpoint", "r", "--step", "200", "--saelens-vectors", String(vectors), fixture])
            #expect(try Self.counts(box, at: 200) == ([0, 20_000, 1_000_000, 10_000_000, 2], 2 * vectors))
            // Export the window (100, 200] as SAELens does: the fixture's bytes exactly.
            try box.ok(["export", "r", "--from", "100", "--to", "200", "--format", "saelens", "--out", box.path("sparsity.safetensors")])
            #expect(try Data(contentsOf: URL(fileURLWithPath: box.path("sparsity.safetensors"))) == Data(contentsOf: URL(fileURLWithPath: fixture)))
            try box.fails(["checkpoint", "r", "--step", "300", "--saelens-vectors", "0", fixture], mentioning: ["must be > 0"])
            try box.ok(["create", "c", "--features", "5", "--components", "2"])
            try box.fails(["checkpoint", "c", "--step", "1", "--saelens-vectors", "10", fixture], mentioning: ["components"])
        }
    }
}
