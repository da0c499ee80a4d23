import DensityMetric
@testable import DensityStore
import Foundation
import Testing

/// A checkpoint encoded ahead of its transaction (``DensityStore/prepareCheckpoint(run:step:state:after:)``)
/// and committed by ``DensityStore/commit(_:)``: stored exactly as an ordinary write stores it, and
/// never written when the run's latest checkpoint is no longer the one it was encoded against or
/// the state does not follow it.
@Suite struct PreparedCheckpointTests {
    /// A store with run `r` (width 3 x 50 in chunks of 16, keyframe every `keyframeInterval`) and
    /// the first of `count` random cumulative states at step 10.
    private func store(_ path: String, keyframeInterval: Int = 4, count: Int = 8)
        throws -> (DensityStore, Run, [DensityState])
    {
        let store = try DensityStore(path: path)
        let run = try store.createRun(name: "r", features: 50, components: 3, chunkFeatures: 16,
                                      keyframeInterval: keyframeInterval)
        var rng = SplitMix64(seed: 7)
        let states = try randomCumulativeStates(features: 50, components: 3, count: count, using: &rng)
        try store.appendCheckpoint(run: "r", step: 10, state: states[0])
        return (store, run, states)
    }

    @Test func aChainOfPreparedCheckpointsIsStoredAsOrdinaryWritesStoreIt() throws {
        try withTemporaryPath { pathA in
            try withTemporaryPath { pathB in
                let (prepared, run, states) = try store(pathA)
                let (ordinary, _, _) = try store(pathB)
                let first = try #require(try prepared.read { try $0.checkpoint(run: "r") })
                var basis = PreparedCheckpoint.Basis(checkpoint: first, state: states[0])
                for (index, state) in states.enumerated().dropFirst() {
                    let step = Int64(10 * (index + 1))
                    // Each is encoded before the one before it is committed, as `density record` does.
                    let next = try #require(prepared.prepareCheckpoint(run: run, step: step, state: state, after: basis))
                    let outcome = try #require(try prepared.commit(next))
                    #expect(outcome.step == step && !outcome.alreadyStored && outcome.completed.map(\.step) == [step])
                    basis = next.asBasis
                    try ordinary.record(run: "r", step: step, state: state)
                }
                // Keyframe every 4th: the chain's depths, the states and the summaries match.
                let depths = try prepared.read { try $0.checkpoints(run: "r") }.map(\.deltaDepth)
                #expect(depths == [0, 1, 2, 3, 0, 1, 2, 3])
                #expect(depths == (try ordinary.read { try $0.checkpoints(run: "r") }.map(\.deltaDepth)))
                for (index, state) in states.enumerated() {
                    let step = Int64(10 * (index + 1))
                    #expect(try prepared.read { try $0.state(run: "r", at: .exact(step)) }.state == state)
                    #expect(try prepared.read { try $0.summary(run: "r", at: .exact(step)) }.summary == DensitySummary(state))
                }
                #expect(try prepared.verify().problems.isEmpty)
            }
        }
    }

    @Test func aPreparedCheckpointWhoseBasisIsNotTheLatestIsNotWritten() throws {
        try withTemporaryPath { path in
            let (store, run, states) = try store(path)
            let first = try #require(try store.read { try $0.checkpoint(run: "r") })
            let basis = PreparedCheckpoint.Basis(checkpoint: first, state: states[0])
            let ahead = try #require(store.prepareCheckpoint(run: run, step: 30, state: states[2], after: basis))
            // Another checkpoint lands first: the prepared one (a delta against step 10) is stale.
            try store.appendCheckpoint(run: "r", step: 20, state: states[1])
            #expect(try store.commit(ahead) == nil)
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [10, 20])
            // Encoded against a step that was never committed: stale too.
            let unstored = PreparedCheckpoint.Basis(checkpoint: first, state: states[1])
            let orphan = try #require(store.prepareCheckpoint(run: run, step: 30, state: states[2], after: unstored))
            #expect(try store.commit(orphan) == nil)
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [10, 20])
            // The ordinary write still stores it.
            try store.record(run: "r", step: 30, state: states[2])
            #expect(try store.read { try $0.state(run: "r") }.state == states[2])
        }
    }

    @Test func aPreparedCheckpointOverDamagedBlobsIsNotWritten() throws {
        try withTemporaryPath { path in
            let (store, run, states) = try store(path)
            let first = try #require(try store.read { try $0.checkpoint(run: "r") })
            let next = try #require(store.prepareCheckpoint(
                run: run, step: 20, state: states[1], after: PreparedCheckpoint.Basis(checkpoint: first, state: states[0])))
            let raw = try Connection(path: path)
            try raw.execute("UPDATE chunks SET data = zeroblob(length(data)) WHERE checkpoint_id = ? AND chunk = 1",
                            [.integer(first.id)])
            #expect(try store.commit(next) == nil)
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [10])
            // The ordinary write reads the damaged checkpoint back and names the damage.
            let error = #expect(throws: StoreError.self) { try store.record(run: "r", step: 20, state: states[1]) }
            if case .corruptChunk("r", 10, _, 1, _)? = error {} else {
                Issue.record("expected corruptChunk at step 10, got \(String(describing: error))")
            }
        }
    }

    @Test(arguments: [false, true])
    func aStateThatDoesNotFollowItsBasisIsNeverCommittedAsPrepared(keyframe: Bool) throws {
        try withTemporaryPath { path in
            // With an interval of 1 every checkpoint is a keyframe: the check is the full one.
            let (store, run, states) = try store(path, keyframeInterval: keyframe ? 1 : 4)
            let first = try #require(try store.read { try $0.checkpoint(run: "r") })
            var counts = states[1].counts
            counts[77] = states[0].counts[77] - 1
            let decreased = try DensityState(features: 50, components: 3, counts: counts, vectors: states[1].vectors,
                                             nonFinite: states[1].nonFinite)
            let next = try #require(store.prepareCheckpoint(
                run: run, step: 20, state: decreased, after: PreparedCheckpoint.Basis(checkpoint: first, state: states[0])))
            #expect(try store.commit(next) == nil)
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [10])
            #expect(throws: StoreError.self) { try store.record(run: "r", step: 20, state: decreased) }
        }
    }

    @Test func aStateOfAnotherShapeOrAnEarlierStepIsNotPrepared() throws {
        try withTemporaryPath { path in
            let (store, run, states) = try store(path)
            let first = try #require(try store.read { try $0.checkpoint(run: "r") })
            let basis = PreparedCheckpoint.Basis(checkpoint: first, state: states[0])
            let narrow = try DensityState(features: 49, components: 3)
            #expect(store.prepareCheckpoint(run: run, step: 20, state: narrow, after: basis) == nil)
            #expect(store.prepareCheckpoint(run: run, step: 10, state: states[1], after: basis) == nil)
        }
    }
}
