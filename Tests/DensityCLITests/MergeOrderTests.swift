import Foundation
import Testing

/// `density merge` gives the same store whatever the order of its sources, and is all or nothing.
@Suite struct MergeOrderTests {
    /// The cumulative states of run `r`: steps 1-2 live in n0, steps 3-4 in n1.
    static let states: [(step: Int64, counts: [Int64], vectors: Int64)] = [
        (1, [1, 0, 2], 2), (2, [2, 1, 3], 4), (3, [3, 1, 5], 6), (4, [5, 2, 7], 8),
    ]

    /// Writes a store at `name` holding run `r` (3 features) with the states at `steps`.
    static func node(_ sandbox: Sandbox, _ name: String, steps: [Int64], features: Int = 3) throws -> String {
        let path = sandbox.path(name)
        try #require(try sandbox.density(["create", "r", "--features", String(features), "--db", path]).status == 0)
        for state in states where steps.contains(state.step) {
            let file = try Numpy.writeState("\(name)-\(state.step).safetensors", counts: state.counts, shape: [3],
                                            vectors: state.vectors, in: sandbox)
            let stored = try sandbox.density(["checkpoint", "r", "--step", String(state.step), file, "--db", path])
            try #require(stored.status == 0, "\(stored)")
        }
        return path
    }

    /// What a store holds, as the CLI reports it: the runs, and every stored state of run `r`.
    static func contents(_ sandbox: Sandbox, _ path: String) throws -> [String] {
        // The runs without what names the file or the time of writing (store, wall times, rate).
        let runs = try JSONSerialization.jsonObject(with: Data(try sandbox.density(["runs", "--format", "json", "--db", path]).stdout.utf8))
        let stable = (runs as? [[String: Any]] ?? []).map { $0.filter { !["store", "created_at", "latest_checkpoint_at", "rate"].contains($0.key) } }
        var lines = [String(decoding: try JSONSerialization.data(withJSONObject: stable, options: [.sortedKeys]), as: UTF8.self)]
        for state in states {
            let export = try sandbox.density(["diff", "r", "--from", "start", "--to", String(state.step), "--format", "json", "--db", path])
            lines.append(export.status == 0 ? export.stdout : "no state at \(state.step)")
        }
        return lines
    }

    @Test func everyOrderOfSourcesGivesTheSameStore() throws {
        try Sandbox.with { sandbox in
            let n0 = try Self.node(sandbox, "n0.sqlite", steps: [1, 2])
            let n1 = try Self.node(sandbox, "n1.sqlite", steps: [3, 4])
            let forward = sandbox.path("forward.sqlite"), backward = sandbox.path("backward.sqlite")
            let one = try sandbox.density(["merge", n0, n1, "--into", forward])
            #expect(one.status == 0, "\(one)")
            let other = try sandbox.density(["merge", n1, n0, "--into", backward])
            #expect(other.status == 0, "\(other)")
            #expect(!other.stderr.contains("discard-later"), "\(other)")
            let expected = try Self.contents(sandbox, forward)
            #expect(try Self.contents(sandbox, backward) == expected)
            #expect(!expected.contains { $0.hasPrefix("no state") }, "\(expected)")
            // one source at a time, later steps first, into an existing store
            let stepwise = sandbox.path("stepwise.sqlite")
            #expect(try sandbox.density(["merge", n1, "--into", stepwise]).status == 0)
            let second = try sandbox.density(["merge", n0, "--into", stepwise])
            #expect(second.status == 0, "\(second)")
            #expect(try Self.contents(sandbox, stepwise) == expected)
            for store in [forward, backward, stepwise] {
                #expect(try sandbox.density(["verify", "--db", store]).status == 0)
                // merging again changes nothing
                #expect(try sandbox.density(["merge", n1, n0, "--into", store]).status == 0)
                #expect(try Self.contents(sandbox, store) == expected)
            }
        }
    }

    @Test func aFailingMergeLeavesTheDestinationUnchanged() throws {
        try Sandbox.with { sandbox in
            let n0 = try Self.node(sandbox, "n0.sqlite", steps: [1, 2])
            // a run 'r' of another width: the stores cannot be merged
            let wide = sandbox.path("wide.sqlite")
            try #require(try sandbox.density(["create", "a-first", "--features", "3", "--db", wide]).status == 0)
            try #require(try sandbox.density(["create", "r", "--features", "4", "--db", wide]).status == 0)
            let destination = try Self.node(sandbox, "dest.sqlite", steps: [1])
            let before = try Self.contents(sandbox, destination)
            for sources in [[n0, wide], [wide, n0]] {
                let result = try sandbox.density(["merge"] + sources + ["--into", destination])
                expectFailure(result, mentioning: ["'r'", "features 3 vs 4"])
                #expect(!result.stderr.contains("discard-later"), "\(result)")
                #expect(try Self.contents(sandbox, destination) == before, "merge \(sources) changed the destination")
            }
            // a conflicting state at a step: refused, nothing changed
            let conflicting = sandbox.path("conflict.sqlite")
            try #require(try sandbox.density(["create", "r", "--features", "3", "--db", conflicting]).status == 0)
            let file = try Numpy.writeState("conflict-2.safetensors", counts: [2, 2, 3], shape: [3], vectors: 4, in: sandbox)
            try #require(try sandbox.density(["checkpoint", "r", "--step", "2", file, "--db", conflicting]).status == 0)
            let result = try sandbox.density(["merge", n0, conflicting, "--into", destination])
            expectFailure(result, mentioning: ["step 2", "different versions", "nothing was changed"])
            #expect(!result.stderr.contains("discard-later"), "\(result)")
            #expect(try Self.contents(sandbox, destination) == before)
        }
    }
}
