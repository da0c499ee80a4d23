import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// Streaming the history: every checkpoint's exact state once, in order, and stored summaries.
@Suite struct HistoryQueryTests {
    @Test(arguments: [1, 3, 32])
    func forEachStateGivesEveryStateInOrder(keyframeInterval: Int) throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "r", features: 20, components: 2, chunkFeatures: 7, keyframeInterval: keyframeInterval)
            var rng = SplitMix64(seed: 3)
            let states = try randomCumulativeStates(features: 20, components: 2, count: 12, using: &rng)
            for (index, state) in states.enumerated() {
                try store.appendCheckpoint(run: "r", step: Int64(index * 5), state: state)
            }
            var seen: [Int64: DensityState] = [:]
            var order: [Int64] = []
            try store.forEachState(run: "r") { checkpoint, state in
                seen[checkpoint.step] = state
                order.append(checkpoint.step)
                return true
            }
            #expect(order == (0..<12).map { Int64($0 * 5) })
            #expect(order.map { seen[$0]! } == states)
            // A sub-range starts mid-chain and still gives exact states.
            var partial: [DensityState] = []
            try store.forEachState(run: "r", from: 22, to: 40) { _, state in
                partial.append(state)
                return true
            }
            #expect(partial == Array(states[5...8]))
            // Stopping early.
            var calls = 0
            try store.forEachState(run: "r") { _, _ in
                calls += 1
                return calls < 3
            }
            #expect(calls == 3)
            // Summaries: one per checkpoint, equal to summarizing each state.
            let summaries = try store.summaries(run: "r")
            #expect(summaries.map(\.summary) == states.map { DensitySummary($0) })
        }
    }
}
