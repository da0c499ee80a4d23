import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// The chain cursor is the one stepper of a run's chains: the same tampered chain is refused with
/// the same error by every reader that walks it (trend, feature history, a window read, the
/// dead-features query with its last-fired search) and reported by `verify`.
@Suite struct ChainCursorTests {
    /// Run "r": 10 features x 2 components in chunks of 3, keyframes at steps 10 and 40, deltas
    /// of depth 1 and 2 at 20 and 30.
    private func store(_ path: String) throws -> (DensityStore, [DensityState]) {
        let store = try DensityStore(path: path)
        try store.createRun(name: "r", features: 10, components: 2, chunkFeatures: 3, keyframeInterval: 3)
        var rng = SplitMix64(seed: 21)
        let states = try randomCumulativeStates(features: 10, components: 2, count: 4, using: &rng)
        for (step, state) in zip([Int64(10), 20, 30, 40], states) {
            try store.appendCheckpoint(run: "r", step: step, state: state)
        }
        return (store, states)
    }

    private func checkpointID(_ db: Connection, step: Int64) throws -> Int64 {
        try #require(try db.queryFirst("SELECT id FROM checkpoints WHERE step = ?", [.integer(step)]) { $0.int64(0) })
    }

    /// The error each reader throws, in the order trend, last-fired search, history, window, dead
    /// features (`nil` for a reader that accepts the chain: the last-fired search of a count that
    /// falls, whose counts it reads only where a listed feature needs them).
    private func errors(_ store: DensityStore, feature: Int, component: Int, window: WindowSpec) throws -> [String?] {
        func error(_ read: (StoreSnapshot) throws -> Void) throws -> String? {
            do {
                try store.read { try read($0) }
            } catch let error as StoreError {
                return error.description
            }
            return nil
        }
        return [
            try error { _ = try $0.trend(run: "r", feature: feature, component: component) },
            try error { snapshot in
                // The last-fired search itself, over the whole run, as `dead` and `report` start it.
                let run = try snapshot.run(named: "r"), checkpoints = try DensityStore.checkpoints(snapshot.db, run)
                _ = try LastFiredSearch(run, checkpoints: checkpoints, end: checkpoints.count - 1)
            },
            try error { _ = try $0.featureHistory(run: "r", pairs: [.init(component: component, feature: feature)]) },
            try error { _ = try $0.window(run: "r", window) },
            try error { _ = try $0.deadFeatures(run: "r", in: .steps(window)) },
        ]
    }

    @Test func aCountThatFallsIsRefusedAlikeByEveryReader() throws {
        try withTemporaryPath { path in
            let (store, states) = try store(path)
            // Step 40's keyframe chunk (component 1, chunk 0) holds step 30's counts with one of them lowered.
            var counts = Array(states[2].counts[10..<13])
            let lowered = try #require(counts.indices.first { counts[$0] > 0 })
            counts[lowered] -= 1
            let chunk = counts.withUnsafeBufferPointer { ChunkCodec.encode($0, previous: nil, zstd: Zstd()) }
            let db = try Connection(path: path)
            try db.execute("UPDATE chunks SET data = ?, checksum = ? WHERE checkpoint_id = ? AND component = 1 AND chunk = 0",
                           [.blob(chunk.data), .integer(Int64(chunk.checksum)), .integer(try checkpointID(db, step: 40))])
            let expected = StoreError.inconsistentHistory(
                run: "r", step: 40, previousStep: 30,
                detail: "counts only grow, but the count at component 1, feature \(lowered) went from \(counts[lowered] + 1) to \(counts[lowered])")
            let found = try errors(store, feature: lowered, component: 1, window: WindowSpec(from: .exact(30), to: .exact(40)))
            #expect(found == [expected.description, nil] + Array(repeating: expected.description, count: 3))
            let problem = try #require(try store.verify().problems.first { $0.message.contains("decreased") })
            #expect(problem.step == 40 && problem.component == 1 && problem.chunk == 0)
        }
    }

    @Test func aVectorTotalThatFallsIsRefusedAlikeByEveryReader() throws {
        try withTemporaryPath { path in
            let (store, states) = try store(path)
            // Step 20 claims more vectors than step 30.
            let claimed = states[2].vectors + 1000
            let db = try Connection(path: path)
            try db.execute("UPDATE checkpoints SET vectors = ? WHERE id = ?", [.integer(claimed), .integer(try checkpointID(db, step: 20))])
            let expected = StoreError.inconsistentHistory(
                run: "r", step: 30, previousStep: 20, detail: "counts only grow, but vectors went from \(claimed) to \(states[2].vectors)")
            let found = try errors(store, feature: 4, component: 0, window: WindowSpec(from: .exact(20), to: .exact(30)))
            #expect(found == Array(repeating: expected.description, count: 5))
            #expect(try store.verify().problems.contains { $0.step == 30 && $0.message == expected.description })
        }
    }

    @Test func aBrokenDepthLinkIsRefusedAlikeByEveryReader() throws {
        try withTemporaryPath { path in
            let (store, _) = try store(path)
            let db = try Connection(path: path)
            try db.execute("UPDATE checkpoints SET delta_depth = 2 WHERE id = ?", [.integer(try checkpointID(db, step: 20))])
            let reason = "broken delta chain (depth 2 after 0)"
            let expected = StoreError.corruptChunk(run: "r", step: 20, component: 0, chunk: 0, reason: reason)
            let found = try errors(store, feature: 7, component: 1, window: WindowSpec(from: .exact(10), to: .exact(30)))
            #expect(found == Array(repeating: expected.description, count: 5))
            #expect(try store.verify().problems.contains { $0.message == "run 'r', step 20: \(reason)" })
        }
    }
}
