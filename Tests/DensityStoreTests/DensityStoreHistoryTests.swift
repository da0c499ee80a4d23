import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// The store's history queries: resume (and rewind), windows between checkpoints, and trends.
@Suite struct DensityStoreHistoryTests {
    static let steps: [Int64] = [10, 20, 30, 40]

    /// Run "h": features 6, components 2, chunks of 4 (so two chunks per component, the second
    /// partial), with checkpoints at 10, 20, 30 and 40.
    private func historyStore(_ path: String) throws -> (DensityStore, [DensityState]) {
        let store = try DensityStore(path: path)
        try store.createRun(name: "h", features: 6, components: 2, chunkFeatures: 4)
        var rng = SplitMix64(seed: 404)
        let states = try randomCumulativeStates(features: 6, components: 2, count: Self.steps.count, using: &rng)
        for (step, state) in zip(Self.steps, states) {
            try store.appendCheckpoint(run: "h", step: step, state: state)
        }
        return (store, states)
    }

    private func chunkRows(_ path: String) throws -> Int {
        let db = try Connection(path: path, mode: .readOnly)
        return try db.queryFirst("SELECT count(*) FROM chunks") { $0.int(0) } ?? -1
    }

    // MARK: - resume

    @Test func resumeFromTheLatestCheckpoint() throws {
        try withTemporaryPath { path in
            let (store, states) = try historyStore(path)
            let resumed = try store.resume(run: "h")
            #expect(resumed.checkpoint.step == 40)
            #expect(resumed.state == states[3])
            #expect(resumed.later == 0)
            // The state continues a metric exactly.
            var metric = try FeatureDensityMetric(state: resumed.state)
            try metric.update([Float](repeating: 1, count: 12), shape: [1, 2, 6])
            #expect(metric.state.counts == states[3].counts.map { $0 + 1 })
            #expect(metric.state.vectors == states[3].vectors + 1)
        }
    }

    @Test(arguments: [(Int64(25), 1), (20, 1), (39, 2), (10, 0), (1000, 3)] as [(Int64, Int)])
    func resumeAtOrBeforeAStepDeletesNothing(step: Int64, index: Int) throws {
        try withTemporaryPath { path in
            let (store, states) = try historyStore(path)
            let chunks = try chunkRows(path)
            let resumed = try store.resume(run: "h", at: .exact(step))
            #expect(resumed.checkpoint.step == Self.steps[index])
            #expect(resumed.state == states[index])
            #expect(resumed.later == Self.steps.count - 1 - index)
            #expect(try store.read { try $0.checkpoints(run: "h") }.map(\.step) == Self.steps)
            #expect(try chunkRows(path) == chunks)
        }
    }

    @Test func resumeBeforeEveryCheckpointThrows() throws {
        try withTemporaryPath { path in
            let (store, _) = try historyStore(path)
            #expect(throws: SelectionError.beforeFirstCheckpoint(run: "h", step: 9, first: 10)) {
                _ = try store.resume(run: "h", at: .exact(9), discardLater: true)
            }
            #expect(try store.read { try $0.checkpoints(run: "h") }.map(\.step) == Self.steps)
            try store.createRun(name: "empty", features: 1)
            #expect(throws: SelectionError.noCheckpointYet(run: "empty", pending: [])) {
                _ = try store.resume(run: "empty")
            }
        }
    }

    @Test func rewindDiscardsLaterCheckpointsAndAllowsTheirStepsAgain() throws {
        try withTemporaryPath { path in
            let (store, states) = try historyStore(path)
            let chunksPerCheckpoint = 2 * 2
            #expect(try chunkRows(path) == 4 * chunksPerCheckpoint)
            let resumed = try store.resume(run: "h", at: .exact(25), discardLater: true)
            #expect(resumed.checkpoint.step == 20)
            #expect(resumed.state == states[1])
            #expect(resumed.later == 2)
            #expect(try store.read { try $0.checkpoints(run: "h") }.map(\.step) == [10, 20])
            #expect(try chunkRows(path) == 2 * chunksPerCheckpoint, "the discarded checkpoints' chunks go too")
            #expect(try store.read { try $0.state(run: "h") }.state == states[1])
            #expect(try store.read { try $0.state(run: "h", at: .exact(1000)) }.checkpoint.step == 20)

            // Training restarted from step 20 records steps 25 and 30 anew, with other counts.
            var metric = try FeatureDensityMetric(state: resumed.state)
            try metric.update([Float](repeating: 0.5, count: 24), shape: [2, 2, 6])
            try store.appendCheckpoint(run: "h", step: 25, state: metric.state)
            try metric.update([Float](repeating: 0, count: 12), shape: [1, 2, 6])
            try store.appendCheckpoint(run: "h", step: 30, state: metric.state)
            #expect(try store.read { try $0.checkpoints(run: "h") }.map(\.step) == [10, 20, 25, 30])
            let latest = try #require(try store.read { try $0.state(run: "h") })
            #expect(latest.state == metric.state)
            #expect(latest.state != states[2])
            #expect(latest.state.vectors == states[1].vectors + 3)

            // Nothing later to discard: reports 0 and deletes nothing.
            let again = try store.resume(run: "h", discardLater: true)
            #expect(again.later == 0 && again.checkpoint.step == 30)
            #expect(try store.read { try $0.checkpoints(run: "h") }.count == 4)
        }
    }

    @Test func rewindTouchesOnlyItsRun() throws {
        try withTemporaryPath { path in
            let (store, states) = try historyStore(path)
            try store.createRun(name: "other", features: 6, components: 2, chunkFeatures: 4)
            for (step, state) in zip(Self.steps, states) {
                try store.appendCheckpoint(run: "other", step: step, state: state)
            }
            _ = try store.resume(run: "h", at: .exact(10), discardLater: true)
            #expect(try store.read { try $0.checkpoints(run: "h") }.map(\.step) == [10])
            #expect(try store.read { try $0.checkpoints(run: "other") }.map(\.step) == Self.steps)
            #expect(try store.read { try $0.state(run: "other") }.state == states[3])
        }
    }

    // MARK: - window

    /// (from, to] by hand: element-wise differences.
    private func difference(_ later: DensityState, _ earlier: DensityState) -> (counts: [Int64], vectors: Int64, nonFinite: Int64) {
        (zip(later.counts, earlier.counts).map { $0 - $1 }, later.vectors - earlier.vectors, later.nonFinite - earlier.nonFinite)
    }

    @Test(arguments: [
        (Int64(10), Int64(30), 0, 2),
        (15, 35, 0, 2),      // bounds resolve to the latest checkpoint at or before them
        (20, 40, 1, 3),
        (10, 20, 0, 1),
        (39, 1000, 2, 3),
    ] as [(Int64, Int64, Int, Int)])
    func windowIsTheDifferenceOfStates(from: Int64, to: Int64, start: Int, end: Int) throws {
        try withTemporaryPath { path in
            let (store, states) = try historyStore(path)
            let window = try store.read { try $0.window(run: "h", WindowSpec(from: .exact(from), to: .exact(to))) }
            let expected = difference(states[end], states[start])
            #expect(window.run == "h")
            #expect(window.from == Self.steps[start])
            #expect(window.to == Self.steps[end])
            #expect(window.state.counts == expected.counts)
            #expect(window.state.vectors == expected.vectors)
            #expect(window.state.nonFinite == expected.nonFinite)
            #expect(window.state.shape == [2, 6])
            #expect(window.densities() == expected.counts.map { Double($0) / Double(expected.vectors) })
        }
    }

    @Test(arguments: [(Int64(40), 3), (35, 2), (10, 0)] as [(Int64, Int)])
    func windowFromTheStartIsCumulative(to: Int64, index: Int) throws {
        try withTemporaryPath { path in
            let (store, states) = try historyStore(path)
            let window = try store.read { try $0.window(run: "h", WindowSpec(from: .start, to: .exact(to))) }
            #expect(window.from == nil)
            #expect(window.to == Self.steps[index])
            #expect(window.state == states[index])
        }
    }

    @Test func invalidWindowsThrow() throws {
        try withTemporaryPath { path in
            let (store, _) = try historyStore(path)
            #expect(throws: SelectionError.windowNotOrdered(run: "h", window: WindowSpec(from: .exact(30), to: .exact(30)), from: 30, to: 30)) {
                _ = try store.read { try $0.window(run: "h", WindowSpec(from: .exact(30), to: .exact(30))) }
            }
            #expect(throws: SelectionError.windowNotOrdered(run: "h", window: WindowSpec(from: .exact(40), to: .exact(20)), from: 40, to: 20)) {
                _ = try store.read { try $0.window(run: "h", WindowSpec(from: .exact(40), to: .exact(20))) }
            }
            // Both bounds resolve to checkpoint 20: an empty window.
            #expect(throws: SelectionError.windowNotOrdered(run: "h", window: WindowSpec(from: .exact(21), to: .exact(29)), from: 20, to: 20)) {
                _ = try store.read { try $0.window(run: "h", WindowSpec(from: .exact(21), to: .exact(29))) }
            }
            // A start before every checkpoint has no state to subtract.
            #expect(throws: SelectionError.beforeFirstCheckpoint(run: "h", step: 5, first: 10)) {
                _ = try store.read { try $0.window(run: "h", WindowSpec(from: .exact(5), to: .exact(30))) }
            }
            #expect(throws: SelectionError.beforeFirstCheckpoint(run: "h", step: 5, first: 10)) {
                _ = try store.read { try $0.window(run: "h", WindowSpec(from: .start, to: .exact(5))) }
            }
        }
    }

    // MARK: - trend

    @Test func trendIsTheCountAtEveryCheckpoint() throws {
        try withTemporaryPath { path in
            let (store, states) = try historyStore(path)
            for component in 0..<2 {
                for feature in 0..<6 {
                    let trend = try store.read { try $0.trend(run: "h", feature: feature, component: component) }
                    #expect(trend.map(\.step) == Self.steps)
                    #expect(trend.map(\.vectors) == states.map(\.vectors))
                    #expect(trend.map(\.count) == states.map { $0.counts[component * 6 + feature] },
                            "component \(component), feature \(feature)")
                    #expect(trend.map(\.density) == states.map {
                        Double($0.counts[component * 6 + feature]) / Double($0.vectors)
                    })
                }
            }
        }
    }

    @Test func trendWithoutComponentsAndWithoutCheckpoints() throws {
        let store = try DensityStore(path: ":memory:")
        try store.createRun(name: "flat", features: 5, chunkFeatures: 2)
        #expect(try store.read { try $0.trend(run: "flat", feature: 4) }.isEmpty)
        let a = try DensityState(features: 5, components: nil, counts: [0, 1, 2, 3, 4], vectors: 4)
        let b = try DensityState(features: 5, components: nil, counts: [5, 1, 2, 3, 9], vectors: 9)
        try store.appendCheckpoint(run: "flat", step: 3, state: a)
        try store.appendCheckpoint(run: "flat", step: 8, state: b)
        #expect(try store.read { try $0.trend(run: "flat", feature: 4) }.map(\.count) == [4, 9])
        #expect(try store.read { try $0.trend(run: "flat", feature: 0, component: 0) }.map(\.count) == [0, 5])
        #expect(throws: StoreError.indexOutOfRange(run: "flat", what: "component", index: 1, size: 1)) {
            _ = try store.read { try $0.trend(run: "flat", feature: 0, component: 1) }
        }
    }

    @Test(arguments: [(6, 0, "feature"), (-1, 0, "feature"), (0, 2, "component"), (0, -1, "component")])
    func trendRejectsOutOfRangeIndexes(feature: Int, component: Int, what: String) throws {
        try withTemporaryPath { path in
            let (store, _) = try historyStore(path)
            let error = #expect(throws: StoreError.self) {
                _ = try store.read { try $0.trend(run: "h", feature: feature, component: component) }
            }
            let index = what == "feature" ? feature : component
            let size = what == "feature" ? 6 : 2
            #expect(error == .indexOutOfRange(run: "h", what: what, index: index, size: size))
            #expect(error?.description.contains("0...\(size - 1)") == true)
        }
    }
}
