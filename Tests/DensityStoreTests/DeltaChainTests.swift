import DensityMetric
@testable import DensityStore
import Testing

/// One broken link of a delta chain reads the same to every reader: the queries that walk a
/// chain (state, trend, the history pass, dead's last-fired search), compaction, and verify,
/// which collects it instead of throwing.
@Suite struct DeltaChainTests {
    @Test func everyReaderWordsABrokenLinkTheSameWay() throws {
        try withTemporaryPath { path in
            do {
                let store = try DensityStore(path: path)
                try store.createRun(name: "r", features: 4, keyframeInterval: 4)
                var counts: [Int64] = [0, 0, 0, 0]
                for step in 1...10 {
                    counts[step % 3] += 1
                    try store.appendCheckpoint(run: "r", step: Int64(step),
                                               state: try DensityState(features: 4, components: nil, counts: counts, vectors: Int64(step)))
                }
            }
            // Step 7 is the third checkpoint after the keyframe at 5 (depth 2); claim depth 3.
            try Connection(path: path).execute("UPDATE checkpoints SET delta_depth = 3 WHERE step = 7")
            let store = try DensityStore(path: path)
            let wording = "broken delta chain (depth 3 after"
            let readers: [(String, () throws -> Void)] = [
                ("state", { _ = try store.read { try $0.state(run: "r", at: .exact(7)) } }),
                ("trend", { _ = try store.read { try $0.trend(run: "r", feature: 1) } }),
                ("window", { _ = try store.read { try $0.window(run: "r", WindowSpec(from: .exact(5), to: .exact(7))) } }),
                ("dead", { _ = try store.read { try $0.deadFeatures(run: "r", threshold: 1) } }),
                ("compact", { _ = try store.compact(run: "r", keepEvery: 2) }),
            ]
            for (name, read) in readers {
                let error = #expect(throws: StoreError.self, "\(name)") { try read() }
                #expect(error?.description.contains(wording) == true, "\(name): \(String(describing: error))")
            }
            let report = try store.verify(run: "r")
            #expect(report.problems.contains { $0.message.contains(wording) }, "\(report.problems.map(\.message))")
        }
    }

    @Test func everyWalkerRefusesACountThatFellInTheSameWords() throws {
        try withTemporaryPath { path in
            do {
                let store = try DensityStore(path: path)
                for name in ["r", "low"] { try store.createRun(name: name, features: 4, keyframeInterval: 1) }
                try store.appendCheckpoint(run: "r", step: 10, state: try DensityState(features: 4, components: nil, counts: [4, 4, 4, 4], vectors: 10))
                try store.appendCheckpoint(run: "r", step: 20, state: try DensityState(features: 4, components: nil, counts: [6, 6, 6, 6], vectors: 20))
                try store.appendCheckpoint(run: "r", step: 30, state: try DensityState(features: 4, components: nil, counts: [7, 7, 7, 7], vectors: 30))
                try store.appendCheckpoint(run: "low", step: 20, state: try DensityState(features: 4, components: nil, counts: [1, 6, 6, 6], vectors: 20))
            }
            // Step 20 of r gets low's keyframe: feature 0 falls from 4 to 1 after step 10.
            try Connection(path: path).execute("""
                UPDATE chunks SET (encoding, checksum, data) = (SELECT k.encoding, k.checksum, k.data FROM chunks k
                    JOIN checkpoints c ON c.id = k.checkpoint_id JOIN runs r ON r.id = c.run_id WHERE r.name = 'low')
                WHERE checkpoint_id = (SELECT c.id FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.name = 'r' AND c.step = 20)
                """)
            let store = try DensityStore(path: path)
            let expected = StoreError.inconsistentHistory(run: "r", step: 20, previousStep: 10,
                                                          detail: "counts only grow, but the count at feature 0 went from 4 to 1")
            let walkers: [(String, () throws -> Void)] = [
                ("trend", { _ = try store.read { try $0.trend(run: "r", feature: 0) } }),
                ("window", { _ = try store.read { try $0.window(run: "r", WindowSpec(from: .exact(10), to: .exact(20))) } }),
                ("compact", { _ = try store.compact(run: "r", keepEvery: 30) }),
            ]
            for (name, walk) in walkers {
                let error = #expect(throws: StoreError.self, "\(name)") { try walk() }
                #expect(error == expected, "\(name): \(String(describing: error))")
            }
        }
    }
}
