import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// Streaming the history: every checkpoint's exact state once, in order, and stored summaries.
@Suite struct HistoryQueryTests {
    @Test(arguments: [1, 3, 32])
    func everyStateReadsBackInOrderFromOneSnapshot(keyframeInterval: Int) throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "r", features: 20, components: 2, chunkFeatures: 7, keyframeInterval: keyframeInterval)
            var rng = SplitMix64(seed: 3)
            let states = try randomCumulativeStates(features: 20, components: 2, count: 12, using: &rng)
            for (index, state) in states.enumerated() {
                try store.appendCheckpoint(run: "r", step: Int64(index * 5), state: state)
            }
            let history = try store.read { snapshot in
                try snapshot.checkpoints(run: "r").map { try snapshot.state(run: "r", at: .exact($0.step)) }
            }
            #expect(history.map(\.checkpoint.step) == (0..<12).map { Int64($0 * 5) })
            #expect(history.map(\.state) == states)
            // A step between checkpoints names the latest at or before it, mid-chain, exactly.
            let partial = try store.read { snapshot in try [22, 29, 34, 40].map { try snapshot.state(run: "r", at: .exact($0)) } }
            #expect(partial.map(\.checkpoint.step) == [20, 25, 30, 40])
            #expect(partial.map(\.state) == [states[4], states[5], states[6], states[8]])
            // Summaries: one per checkpoint, equal to summarizing each state.
            let summaries = try store.read { try $0.summaries(run: "r") }
            #expect(summaries.map(\.summary) == states.map { DensitySummary($0) })
        }
    }
}
