import Foundation
import Testing

/// `density checkpoint`: torchmetrics state files written by PyTorch, stored exactly, bad ones refused
/// with the store unchanged.
@Suite struct CheckpointCommandTests {
    /// The real files written by torch + safetensors, kept with the format tests.
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DensityFormatsTests/Fixtures/\(name)").path
    }

    @Test func statesFromPyTorchAreStoredExactly() throws {
        try Sandbox.with { box in
            try box.ok(["create", "c2", "--features", "6", "--components", "2"])
            // The file's own 'step' tensor (1200) gives the step.
            try box.ok(["checkpoint", "c2", Self.fixture("torch_state_f64_C2_F6_step1200.safetensors")])
            let json = try box.ok(["diff", "c2", "--from", "start", "--to", "latest", "--format", "json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect((object["to"] as? NSNumber)?.int64Value == 1200)
            #expect((object["vectors"] as? NSNumber)?.int64Value == 10)
            let density = try #require(object["density"] as? [[Double]])
            #expect(density == [[4, 6, 5, 4, 5, 5], [6, 4, 5, 4, 7, 5]].map { $0.map { $0 / 10.0 } })
            // Equal counts at a later step: accepted (counts may stay). The same state at the same
            // step again (here from an int32 file): a no-op. A different state there: refused.
            try box.ok(["checkpoint", "c2", "--step", "1300", Self.fixture("torch_state_i64_C2_F6_n1.safetensors")])
            let again = try box.db(["checkpoint", "c2", "--step", "1300", Self.fixture("torch_state_i32_C2_F6.safetensors")])
            #expect(again.status == 0 && again.stderr.contains("already stored"), "\(again)")
            let before = try box.ok(["show", "c2", "--format", "json"])
            let other = try Numpy.writeState("other.safetensors", counts: [4, 6, 5, 4, 5, 5, 6, 4, 5, 4, 7, 6],
                                             shape: [2, 6], vectors: 10, in: box)
            try box.fails(["checkpoint", "c2", "--step", "1300", other], mentioning: ["1300", "different state", "--discard-later"])
            try box.fails(["checkpoint", "c2", "--step", "1250", Self.fixture("torch_state_i64_C2_F6_n1.safetensors")],
                          mentioning: ["1250", "strictly increase"])
            #expect(try box.ok(["show", "c2", "--format", "json"]) == before)
        }
    }

    @Test func decreasingAndNegativeCountsAreRefusedAndNothingChanges() throws {
        try Sandbox.with { box in
            try box.ok(["create", "t", "--features", "3"])
            try box.ok(["checkpoint", "t", "--step", "1",
                        try Numpy.writeState("a.safetensors", counts: [5, 6, 7], shape: [3], vectors: 10, in: box)])
            let before = try box.ok(["show", "t", "--format", "json"])
            try box.fails(["checkpoint", "t", "--step", "2",
                           try Numpy.writeState("b.safetensors", counts: [5, 4, 7], shape: [3], vectors: 12, in: box)],
                          mentioning: ["step 2", "below the previous checkpoint", "feature 1", "cumulative"])
            try box.fails(["checkpoint", "t", "--step", "2",
                           try Numpy.writeState("c.safetensors", counts: [5, -1, 7], shape: [3], vectors: 12, in: box)],
                          mentioning: ["negative count -1", "index 1"])
            #expect(try box.ok(["show", "t", "--format", "json"]) == before)
        }
    }

    @Test func float32PastTwoToThe24Warns() throws {
        try Sandbox.with { box in
            try box.ok(["create", "big", "--features", "3"])
            let result = try box.db(["checkpoint", "big", "--step", "1", Self.fixture("torch_state_f32_past_2p24.safetensors")])
            #expect(result.status == 0)
            #expect(result.stderr.contains("2^24") && result.stderr.contains("int64"))
        }
    }

    @Test(arguments: [
        ("bad_wrong_names.safetensors", ["'counts'", "'n'", "neuron_fired_count"]),
        ("bad_fractional_counts.safetensors", ["1.5", "whole"]),
        ("bad_truncated.safetensors", ["truncated"]),
        ("torch_state_i32_C2_F6.safetensors", ["[2, 6]", "features=10"]),
    ])
    func badFilesAreRefusedAndNothingChanges(name: String, mentions: [String]) throws {
        try Sandbox.with { box in
            try box.ok(["create", "t", "--features", "10"])
            try box.ok(["checkpoint", "t", "--step", "1", Self.fixture("torch_state_f32_F10.safetensors")])
            let before = try box.ok(["show", "t", "--format", "json"])
            try box.fails(["checkpoint", "t", "--step", "2", Self.fixture(name)], mentioning: mentions)
            #expect(try box.ok(["show", "t", "--format", "json"]) == before)
        }
    }
}

/// `density state` writes what `density checkpoint` (and torchmetrics) read back, exactly.
@Suite struct StateCommandTests {
    @Test(arguments: ["int64", "float32"])
    func exportThenImportGivesTheSameState(dtype: String) throws {
        try Sandbox.with { box in
            try box.ok(["create", "c2", "--features", "6", "--components", "2"])
            try box.ok(["checkpoint", "c2", CheckpointCommandTests.fixture("torch_state_f64_C2_F6_step1200.safetensors")])
            let out = box.work.appendingPathComponent("state.safetensors").path
            try box.ok(["state", "c2", "--dtype", dtype, "--out", out])
            // The layout a PyTorch reader expects, parsed with Python's standard library only.
            let parsed = try Numpy.run("""
                import json, struct, sys
                raw = open(sys.argv[1], "rb").read()
                n = struct.unpack("<Q", raw[:8])[0]
                header = json.loads(raw[8:8 + n])
                data = raw[8 + n:]
                out = {"metadata": header.pop("__metadata__", {})}
                for name, t in header.items():
                    b, e = t["data_offsets"]
                    fmt = {"I64": "q", "F32": "f"}[t["dtype"]]
                    out[name] = {"dtype": t["dtype"], "shape": t["shape"], "values": list(struct.unpack("<%d%s" % ((e - b) // struct.calcsize(fmt), fmt), data[b:e]))}
                print(json.dumps(out))
                """, [out], in: box)
            let object = try #require(try JSONSerialization.jsonObject(with: parsed) as? [String: Any])
            let counts = try #require(object["neuron_fired_count"] as? [String: Any])
            #expect(counts["dtype"] as? String == (dtype == "int64" ? "I64" : "F32"))
            #expect(counts["shape"] as? [Int] == [2, 6])
            #expect((counts["values"] as? [Double]) == [4, 6, 5, 4, 5, 5, 6, 4, 5, 4, 7, 5])
            let vectors = try #require(object["num_activation_vectors"] as? [String: Any])
            #expect(vectors["dtype"] as? String == "I64" && vectors["shape"] as? [Int] == [] && vectors["values"] as? [Int] == [10])
            #expect((object["metadata"] as? [String: String])?["step"] == "1200")

            // Imported into a new run: the same state.
            try box.ok(["create", "copy", "--features", "6", "--components", "2"])
            try box.ok(["checkpoint", "copy", "--step", "1200", out])
            let original = try box.ok(["diff", "c2", "--from", "start", "--format", "json"])
            let copy = try box.ok(["diff", "copy", "--from", "start", "--format", "json"])
            #expect(original.replacingOccurrences(of: "\"c2\"", with: "\"copy\"") == copy)
            // An existing file is not replaced without --force.
            try box.fails(["state", "c2", "--out", out], mentioning: ["exists", "--force"])
            try box.ok(["state", "c2", "--out", out, "--force"])
        }
    }
}
