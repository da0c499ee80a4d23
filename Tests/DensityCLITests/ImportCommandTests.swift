import Foundation
import Testing

/// `density import`: a folder of state files stored in step order, idempotently, stopping at the
/// first bad file with everything before it kept.
@Suite struct ImportCommandTests {
    /// Cumulative states for `steps`: counts grow by `step % 3 + feature` each step.
    static func states(_ steps: [Int64], features: Int) -> [Int64: [Int64]] {
        var counts = [Int64](repeating: 0, count: features), result: [Int64: [Int64]] = [:]
        for step in steps.sorted() {
            for feature in 0..<features { counts[feature] += step % 3 + Int64(feature) }
            result[step] = counts
        }
        return result
    }

    static func write(_ steps: [Int64], _ states: [Int64: [Int64]], folder: String, in box: Sandbox, stepTensor: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: box.path(folder), withIntermediateDirectories: true)
        for step in steps {
            try Numpy.writeState("\(folder)/state-\(step).safetensors", counts: states[step]!, shape: [states[step]!.count],
                                 vectors: 100 * step, step: stepTensor ? step : nil, in: box)
        }
    }

    static func counts(_ box: Sandbox, at step: Int64) throws -> [Int64] {
        let json = try box.ok(["diff", "r", "--from", "start", "--to", String(step), "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((object["to"] as? NSNumber)?.int64Value == step)
        let vectors = try #require((object["vectors"] as? NSNumber)?.doubleValue)
        return try #require(object["density"] as? [Double]).map { Int64(($0 * vectors).rounded()) }
    }

    @Test func aFolderIsStoredInStepOrderAndAgainChangesNothing() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "5"])
            // Name order (10, 100, 5, 50) is not step order (5, 10, 50, 100).
            let steps: [Int64] = [5, 10, 50, 100]
            let states = Self.states(steps + [200, 300], features: 5)
            try Self.write(steps, states, folder: "states", in: box)
            let first = try box.db(["import", "r", box.path("states")])
            #expect(first.status == 0 && first.stderr.contains("imported 4 files (steps 5 to 100)"), "\(first)")
            for step in steps { #expect(try Self.counts(box, at: step) == states[step]) }
            // Training wrote two more files (with the Python helper's save_state, which adds the
            // step tensor): only they are stored; the rest is skipped.
            _ = try Numpy.run("""
                import sys, json, numpy as np
                from feature_density_recorder import save_state
                for step, counts in json.loads(sys.argv[1]).items():
                    save_state(f"states/state-{step}.safetensors", int(step), np.array(counts), 100 * int(step))
                """, [#"{"200": \#(states[200]!), "300": \#(states[300]!)}"#], in: box)
            let second = try box.db(["import", "r", box.path("states") + "/state-*.safetensors"])
            #expect(second.status == 0 && second.stderr.contains("imported 2 files (steps 200 to 300); skipped 4 already stored"), "\(second)")
            #expect(try Self.counts(box, at: 300) == states[300])
            let checkpoints = try box.ok(["show", "r", "--format", "json"])
            let before = checkpoints
            let third = try box.db(["import", "r", box.path("states")])
            #expect(third.stderr.contains("imported 0 files; skipped 6 already stored"), "\(third)")
            #expect(try box.ok(["show", "r", "--format", "json"]) == before)
        }
    }

    @Test func theFirstBadFileStopsTheImportAndKeepsEverythingBefore() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "4"])
            let states = Self.states([1, 2, 3, 4], features: 4)
            try Self.write([1, 2, 4], states, folder: "s", in: box)
            // Step 3 has the wrong width.
            try Numpy.writeState("s/state-3.safetensors", counts: [1, 2, 3], shape: [3], vectors: 300, in: box)
            let result = try box.fails(["import", "r", box.path("s")],
                                       mentioning: ["state-3.safetensors", "file 3 of 4", "[3]", "features=4", "run the same command again"])
            #expect(result.stderr.contains("imported 2 files (steps 1 to 2)"), "\(result)")
            #expect(try Self.counts(box, at: 2) == states[2])
            #expect(try box.ok(["show", "r", "--format", "json"]).contains("\"step\":2,\"vectors\":200"))
            // Fixed: the same command stores the rest and skips what is there.
            try Numpy.writeState("s/state-3.safetensors", counts: states[3]!, shape: [4], vectors: 300, in: box)
            let again = try box.db(["import", "r", box.path("s")])
            #expect(again.status == 0 && again.stderr.contains("imported 2 files (steps 3 to 4); skipped 2 already stored"), "\(again)")
            #expect(try Self.counts(box, at: 4) == states[4])
        }
    }

    @Test func namesWithoutNumbersUseTheStepTensorAndNonsenseIsRefused() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "2"])
            try Numpy.writeState("latest.safetensors", counts: [3, 4], shape: [2], vectors: 9, step: 70, in: box)
            try Numpy.writeState("nostep.safetensors", counts: [3, 4], shape: [2], vectors: 9, in: box)
            try Numpy.writeState("state-5.safetensors", counts: [1, 1], shape: [2], vectors: 2, step: 6, in: box)
            try box.fails(["import", "r", box.path("nostep.safetensors")], mentioning: ["no 'step' tensor", "no number"])
            try box.fails(["import", "r", box.path("state-5.safetensors")], mentioning: ["step 5", "says 6"])
            try box.fails(["import", "r", box.path("nothing-*.safetensors")], mentioning: ["matches no file"])
            try box.ok(["import", "r", box.path("latest.safetensors")])
            #expect(try Self.counts(box, at: 70) == [3, 4])
        }
    }
}
