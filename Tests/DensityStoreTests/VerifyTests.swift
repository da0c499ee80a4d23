import DensityMetric
import Foundation
import Synchronization
import Testing
@testable import DensityStore

/// `verify` finds each kind of damage a valid-looking store can hide, names where it is, and finds
/// nothing in an intact store.
@Suite struct VerifyTests {
    /// Run "r": 10 features x 2 components in chunks of 3 (8 chunk positions), keyframes at steps 10
    /// and 40, deltas at 20 and 30; run "s": one checkpoint.
    private func store(_ path: String) throws -> (DensityStore, [DensityState]) {
        let store = try DensityStore(path: path)
        try store.createRun(name: "r", features: 10, components: 2, chunkFeatures: 3, keyframeInterval: 3)
        try store.createRun(name: "s", features: 4)
        var rng = SplitMix64(seed: 77)
        let states = try randomCumulativeStates(features: 10, components: 2, count: 4, using: &rng)
        for (step, state) in zip([Int64(10), 20, 30, 40], states) {
            try store.appendCheckpoint(run: "r", step: step, state: state)
        }
        try store.appendCheckpoint(run: "s", step: 1, state: try DensityState(features: 4, components: nil, counts: [0, 1, 2, 3], vectors: 3))
        return (store, states)
    }

    /// The id of a checkpoint of run "r".
    private func checkpointID(_ db: Connection, step: Int64) throws -> Int64 {
        try #require(try db.queryFirst(
            "SELECT c.id FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.name = 'r' AND c.step = ?",
            [.integer(step)]) { $0.int64(0) })
    }

    @Test func anIntactStoreIsOK() throws {
        try withTemporaryPath { path in
            let (store, _) = try store(path)
            let checked = Mutex<[Int]>([])
            let report = try store.verify { done, total in checked.withLock { $0.append(done * 100 + total) } }
            #expect(report.isOK && report.sqliteCheck == "integrity_check")
            #expect(report.runs == 2 && report.checkpoints == 5 && report.chunks == 4 * 8 + 1)
            #expect(checked.withLock { $0 } == [105, 205, 305, 405, 505])
            let quick = try store.verify(run: "s", quick: true)
            #expect(quick.isOK && quick.sqliteCheck == "quick_check" && quick.runs == 1 && quick.chunks == 1)
            #expect(throws: StoreError.self) { try store.verify(run: "nope") }
        }
    }

    @Test func countsThatDecreaseInAValidKeyframeAreNamed() throws {
        try withTemporaryPath { path in
            let (store, states) = try store(path)
            // A well-formed keyframe chunk at step 40 (component 1, chunk 0) holding the counts of
            // step 10: decoding succeeds, but they are below step 30's.
            let db = try Connection(path: path)
            let old = Array(states[0].counts[10..<13])
            let chunk = old.withUnsafeBufferPointer { ChunkCodec.encode($0, previous: nil, zstd: Zstd()) }
            try db.execute("UPDATE chunks SET data = ?, checksum = ? WHERE checkpoint_id = ? AND component = 1 AND chunk = 0",
                           [.blob(chunk.data), .integer(Int64(chunk.checksum)), .integer(try checkpointID(db, step: 40))])
            let report = try store.verify()
            let problem = try #require(report.problems.first { $0.message.contains("decreased") })
            #expect(problem.run == "r" && problem.step == 40 && problem.component == 1 && problem.chunk == 0)
            #expect(report.problems.contains { $0.message.contains("stored summary") && $0.step == 40 })
        }
    }

    @Test func aTamperedSummaryABrokenChainAndAMissingChunkAreNamed() throws {
        try withTemporaryPath { path in
            let (store, _) = try store(path)
            let db = try Connection(path: path)
            try db.execute("UPDATE checkpoint_summaries SET dead = dead + 1 WHERE checkpoint_id = ?", [.integer(try checkpointID(db, step: 10))])
            try db.execute("DELETE FROM chunks WHERE checkpoint_id = ? AND component = 0 AND chunk = 3", [.integer(try checkpointID(db, step: 20))])
            try db.execute("UPDATE checkpoints SET delta_depth = 2 WHERE id = ?", [.integer(try checkpointID(db, step: 40))])
            let report = try store.verify()
            let messages = report.problems.map(\.message)
            // (an impossible summary, or one that does not match the decoded counts: either way, named)
            #expect(messages.contains { $0.hasPrefix("run 'r', step 10: its stored summary") })
            #expect(messages.contains("run 'r', step 20, component 0, chunk 3 is damaged: chunk missing"))
            #expect(messages.contains { $0.hasPrefix("run 'r', step 40: broken delta chain (depth 2 after 2)") })
            // Run "s" is untouched; verifying it alone finds nothing.
            #expect(!report.problems.contains { $0.run == "s" })
            #expect(try store.verify(run: "s").isOK)
        }
    }
}
