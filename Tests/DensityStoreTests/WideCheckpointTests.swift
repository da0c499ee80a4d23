import DensityMetric
import DensityStore
import Foundation
import Testing

/// Wide checkpoints take the pipelined writer (other cores encode and tally chunks while the
/// writer inserts): the stored counts and summary must equal the state's own, at every step.
@Suite struct WideCheckpointTests {
    @Test func pipelinedCheckpointsStoreExactStatesAndSummaries() throws {
        let features = 300_000  // above the 2^18 counts where the writer uses threads
        var rng = SplitMix64(seed: 42)
        var counts = [Int64](repeating: 0, count: features)
        var vectors: Int64 = 0
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "wide", features: features, chunkFeatures: 4096, keyframeInterval: 3)
            for step in 1...5 {
                vectors += 4096
                for i in 0..<features where rng.next() % 3 != 0 {
                    counts[i] += Int64(rng.next() % 4097)
                }
                let state = try DensityState(features: features, components: nil, counts: counts, vectors: vectors)
                try store.appendCheckpoint(run: "wide", step: Int64(step), state: state)
                let stored = try #require(try store.read { try $0.state(run: "wide", at: .exact(Int64(step))) })
                #expect(stored.state == state, "step \(step)")
                #expect(try store.read { try $0.summary(run: "wide", at: .exact(Int64(step))) }.summary == DensitySummary(state), "step \(step)")
            }
            // A decrease in the last chunk is still refused after the other chunks were inserted,
            // and leaves nothing behind.
            counts[features - 1] -= 1
            vectors += 1
            #expect(throws: StoreError.self) {
                try store.appendCheckpoint(run: "wide", step: 6,
                                           state: DensityState(features: features, components: nil, counts: counts, vectors: vectors))
            }
            #expect(try store.read { try $0.checkpoints(run: "wide") }.map(\.step) == [1, 2, 3, 4, 5])
        }
    }
}
