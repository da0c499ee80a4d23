import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// The history queries (dead and dense features in a window, the last-vectors window, two runs
/// compared), each checked against an answer computed here, naively, from the states that
/// `state(run:atOrBefore:)` reads at every checkpoint.
@Suite struct QueryTests {
    // MARK: - A crafted run with known answers

    /// Steps 10...50; 100 vectors per interval. Per interval (0,10], (10,20], …, (40,50]:
    /// f0 never fires; f1 fires in (0,10] only; f2 fires 50 times in every interval; f3 fires in
    /// (10,20] and (40,50]; f4 fires in (20,30] only; f5 fires once per interval.
    static let craftedSteps: [Int64] = [10, 20, 30, 40, 50]
    static let craftedIncrements: [[Int64]] = [
        [0, 7, 50, 0, 0, 1],
        [0, 0, 50, 9, 0, 1],
        [0, 0, 50, 0, 4, 1],
        [0, 0, 50, 0, 0, 1],
        [0, 0, 50, 10, 0, 1],
    ]

    /// A store holding run `c` (the crafted run, keyframes every 2 checkpoints, chunks of 4).
    static func craftedStore(_ path: String) throws -> DensityStore {
        let store = try DensityStore(path: path)
        try store.createRun(name: "c", features: 6, chunkFeatures: 4, keyframeInterval: 2)
        var counts = [Int64](repeating: 0, count: 6)
        for (step, increments) in zip(craftedSteps, craftedIncrements) {
            for i in counts.indices { counts[i] += increments[i] }
            let vectors = 100 * Int64(craftedSteps.firstIndex(of: step)! + 1)
            try store.appendCheckpoint(run: "c", step: step,
                                       state: DensityState(features: 6, components: nil, counts: counts, vectors: vectors))
        }
        return store
    }

    static func dead(_ feature: Int, _ count: Int64 = 0, last: Int64?) -> DeadFeature {
        DeadFeature(component: nil, feature: feature, count: count, lastFiredStep: last)
    }

    @Test func craftedRunDeadAndRevived() throws {
        try withTemporaryPath { path in
            let store = try Self.craftedStore(path)
            // The whole run: only f0 is silent; no window before it.
            let whole = try store.read { try $0.deadFeatures(run: "c") }
            #expect(whole.window == WindowBounds(from: nil, to: 50, vectors: 500))
            #expect(whole.dead == [Self.dead(0, last: nil)])
            #expect(whole.width == 6 && whole.threshold == nil)
            #expect(whole.previous == nil && whole.revived == nil)

            // (40, 50] after (30, 40]: f3 revived, and last fired at 50.
            let last = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(40), to: .exact(50)))) }
            #expect(last.window == WindowBounds(from: 40, to: 50, vectors: 100))
            #expect(last.dead == [Self.dead(0, last: nil), Self.dead(1, last: 10), Self.dead(4, last: 30)])
            #expect(last.previous == WindowBounds(from: 30, to: 40, vectors: 100))
            #expect(last.revived == [Self.dead(3, 10, last: 50)])

            // (20, 40] after (start, 20] (cut at the start, two checkpoints each): f3 last fired at
            // 20 as of step 40; f4 was silent before 20 and fired in (20, 30].
            let middle = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(20), to: .exact(40)))) }
            #expect(middle.dead == [Self.dead(0, last: nil), Self.dead(1, last: 10), Self.dead(3, last: 20)])
            #expect(middle.previous == WindowBounds(from: nil, to: 20, vectors: 200))
            #expect(middle.revived == [Self.dead(4, 4, last: 30)])

            // (10, 40] is three checkpoints; only (start, 10] precedes it.
            let long = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(10), to: .exact(40)))) }
            #expect(long.previous == WindowBounds(from: nil, to: 10, vectors: 100))
            #expect(long.dead == [Self.dead(0, last: nil), Self.dead(1, last: 10)])
            #expect(long.revived == [Self.dead(3, 9, last: 20), Self.dead(4, 4, last: 30)])

            // Density < 0.05 in (40, 50]: f5 (1 in 100) joins; f3 (10 in 100) is still revived.
            let sparse = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(40), to: .exact(50))), threshold: 0.05) }
            #expect(sparse.dead == [Self.dead(0, last: nil), Self.dead(1, last: 10), Self.dead(4, last: 30),
                                    Self.dead(5, 1, last: 50)])
            #expect(sparse.revived == [Self.dead(3, 10, last: 50)])
            #expect(sparse.threshold == 0.05)

            // Steps between checkpoints resolve to the latest checkpoint at or before them.
            #expect(try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(45), to: .exact(59)))) } == last)
        }
    }

    @Test func craftedRunDense() throws {
        try withTemporaryPath { path in
            let store = try Self.craftedStore(path)
            let whole = try store.read { try $0.denseFeatures(run: "c") }
            // Whole run: f2 250/500, f3 19/500 = 0.038, f5 5/500 = 0.01 (exactly the threshold), f1 7/500.
            #expect(whole.dense == [
                DenseFeature(component: nil, feature: 2, count: 250, density: 0.5),
                DenseFeature(component: nil, feature: 3, count: 19, density: 0.038),
                DenseFeature(component: nil, feature: 1, count: 7, density: 0.014),
                DenseFeature(component: nil, feature: 5, count: 5, density: 0.01),
            ])
            #expect(whole.window == WindowBounds(from: nil, to: 50, vectors: 500) && whole.threshold == 1e-2)
            let last = try store.read { try $0.denseFeatures(run: "c", in: .steps(WindowSpec(from: .exact(40), to: .latest)), threshold: 0.1) }
            #expect(last.dense.map(\.feature) == [2, 3])
            #expect(try store.read { try $0.denseFeatures(run: "c", threshold: 1) }.dense.isEmpty)
        }
    }

    // MARK: - Random histories against the naive answer

    /// Every checkpoint's step and state, read one at a time with `state(run:atOrBefore:)`.
    static func naiveHistory(_ store: DensityStore, _ run: String) throws -> [(step: Int64, state: DensityState)] {
        try store.read { try $0.checkpoints(run: run) }.map { checkpoint in
            (checkpoint.step, try #require(try store.read { try $0.state(run: run, at: .exact(checkpoint.step)) }).state)
        }
    }

    /// The dead report by the definition: bounds are checkpoint indexes, -1 for the start.
    static func naiveDead(_ history: [(step: Int64, state: DensityState)], run: String, from a: Int, to b: Int,
                          threshold: Double?) -> DeadFeatureReport {
        let first = history[0].state
        let width = first.counts.count
        let zero = [Int64](repeating: 0, count: width)
        func counts(_ k: Int) -> [Int64] { k < 0 ? zero : history[k].state.counts }
        func vectors(_ k: Int) -> Int64 { k < 0 ? 0 : history[k].state.vectors }
        func step(_ k: Int) -> Int64? { k < 0 ? nil : history[k].step }
        func isDead(_ count: Int64, _ n: Int64) -> Bool {
            threshold.map { Double(count) / Double(n) < $0 } ?? (count == 0)
        }
        func lastFired(_ i: Int) -> Int64? {
            for k in stride(from: b, through: 0, by: -1) where counts(k)[i] > counts(k - 1)[i] { return history[k].step }
            return nil
        }
        func feature(_ i: Int, _ count: Int64) -> DeadFeature {
            DeadFeature(component: first.components == nil ? nil : i / first.features, feature: i % first.features,
                        count: count, lastFiredStep: lastFired(i))
        }
        let n = vectors(b) - vectors(a)
        let dead = (0..<width).filter { isDead(counts(b)[$0] - counts(a)[$0], n) }
            .map { feature($0, counts(b)[$0] - counts(a)[$0]) }
        var previous: WindowBounds?
        var revived: [DeadFeature]?
        if a >= 0 {
            let p = max(-1, a - (b - a))
            let m = vectors(a) - vectors(p)
            if m > 0 {
                previous = WindowBounds(from: step(p), to: history[a].step, vectors: m)
                revived = (0..<width)
                    .filter { isDead(counts(a)[$0] - counts(p)[$0], m) && !isDead(counts(b)[$0] - counts(a)[$0], n) }
                    .map { feature($0, counts(b)[$0] - counts(a)[$0]) }
            }
        }
        return DeadFeatureReport(run: run, window: WindowBounds(from: step(a), to: history[b].step, vectors: n),
                                 threshold: threshold, width: width, dead: dead, previous: previous, revived: revived)
    }

    /// A run of random cumulative states whose features go silent for runs of checkpoints.
    static func randomStore(_ path: String, keyframeInterval: Int, checkpoints: Int = 9) throws -> DensityStore {
        let store = try DensityStore(path: path)
        try store.createRun(name: "r", features: 20, components: 2, chunkFeatures: 7, keyframeInterval: keyframeInterval)
        var rng = SplitMix64(seed: UInt64(keyframeInterval) * 7919)
        var counts = [Int64](repeating: 0, count: 40)
        var vectors: Int64 = 0
        // Each feature has its own odds of silence per interval, so some die, some revive.
        let silence = (0..<40).map { _ in Double.random(in: 0...1, using: &rng) }
        for index in 0..<checkpoints {
            let batch = Int64.random(in: 1...1000, using: &rng)
            vectors += batch
            for i in counts.indices where Double.random(in: 0..<1, using: &rng) >= silence[i] {
                counts[i] += Int64.random(in: 0...batch, using: &rng)
            }
            try store.appendCheckpoint(run: "r", step: Int64(10 * (index + 1)),
                                       state: DensityState(features: 20, components: 2, counts: counts, vectors: vectors))
        }
        return store
    }

    @Test(arguments: [1, 3, 32])
    func deadMatchesTheNaiveAnswerInEveryWindow(keyframeInterval: Int) throws {
        try withTemporaryPath { path in
            let store = try Self.randomStore(path, keyframeInterval: keyframeInterval)
            let history = try Self.naiveHistory(store, "r")
            var revivedSeen = 0, deadSeen = 0
            for b in history.indices {
                for a in -1..<b {
                    for threshold in [nil, 0.2, 1.0] as [Double?] {
                        let got = try store.read { try $0.deadFeatures(run: "r", in: .steps(WindowSpec(from: a < 0 ? .start : .exact(history[a].step), to: .exact(history[b].step))), threshold: threshold) }
                        let want = Self.naiveDead(history, run: "r", from: a, to: b, threshold: threshold)
                        #expect(got == want, "window (\(a), \(b)], threshold \(threshold.map { "\($0)" } ?? "count 0")")
                        revivedSeen += got.revived?.count ?? 0
                        deadSeen += got.dead.count
                    }
                }
            }
            // The random run exercises what it is meant to.
            #expect(revivedSeen > 0 && deadSeen > 0)
            // to: nil is the latest checkpoint.
            #expect(try store.read { try $0.deadFeatures(run: "r", in: .steps(WindowSpec(from: .exact(history[2].step), to: .latest))) }
                        == Self.naiveDead(history, run: "r", from: 2, to: history.count - 1, threshold: nil))
        }
    }

    @Test(arguments: [1, 32])
    func denseMatchesTheNaiveAnswerInEveryWindow(keyframeInterval: Int) throws {
        try withTemporaryPath { path in
            let store = try Self.randomStore(path, keyframeInterval: keyframeInterval)
            let history = try Self.naiveHistory(store, "r")
            for b in history.indices {
                for a in -1..<b {
                    for threshold in [1e-2, 0.3, 1.0] {
                        let end = history[b].state, start = a < 0 ? nil : history[a].state
                        let n = end.vectors - (start?.vectors ?? 0)
                        let counts = end.counts.indices.map { end.counts[$0] - (start?.counts[$0] ?? 0) }
                        let want = counts.indices
                            .map { DenseFeature(component: $0 / 20, feature: $0 % 20, count: counts[$0],
                                                density: Double(counts[$0]) / Double(n)) }
                            .filter { $0.density >= threshold }
                            .sorted { ($0.density, -$0.component! * 20 - $0.feature) > ($1.density, -$1.component! * 20 - $1.feature) }
                        let spec = WindowSpec(StepWindow(from: a < 0 ? nil : history[a].step, to: history[b].step))
                        let got = try store.read { try $0.denseFeatures(run: "r", in: .steps(spec), threshold: threshold) }
                        #expect(got.dense == want, "window (\(a), \(b)], threshold \(threshold)")
                        #expect(got.window == WindowBounds(from: a < 0 ? nil : history[a].step, to: history[b].step, vectors: n))
                        #expect(got.width == 40)
                    }
                }
            }
        }
    }

    // MARK: - The last-vectors window

    @Test func recentWindowIsTheShortestHoldingEnoughVectors() throws {
        try withTemporaryPath { path in
            let store = try Self.randomStore(path, keyframeInterval: 4)
            let checkpoints = try store.read { try $0.checkpoints(run: "r") }
            let last = checkpoints.last!
            for wanted in [1, 2, 50, 999, 1000, 1001, 2500, last.vectors - 1, last.vectors] as [Int64] {
                let got = try store.read { try DensityStore.recentWindow($0.db, $0.run(named: "r"), holding: wanted) }
                // Naive: try every start, latest first.
                let start = checkpoints.dropLast().last { last.vectors - $0.vectors >= wanted }
                #expect(got == WindowBounds(from: start?.step, to: last.step, vectors: last.vectors - (start?.vectors ?? 0)),
                        "at least \(wanted) vectors")
                #expect(got.vectors >= wanted)
            }
            #expect(throws: QueryError.notEnoughVectors(run: "r", requested: last.vectors + 1, available: last.vectors)) {
                _ = try store.read { try DensityStore.recentWindow($0.db, $0.run(named: "r"), holding: last.vectors + 1) }
            }
            #expect(throws: StoreError.settingOutOfRange(.windowVectors, value: "0", expected: "a positive number of vectors")) { _ = try store.read { try DensityStore.recentWindow($0.db, $0.run(named: "r"), holding: 0) } }
        }
    }

    @Test func lastVectorsQueriesReadTheRecentWindow() throws {
        try withTemporaryPath { path in
            let store = try Self.randomStore(path, keyframeInterval: 4)
            let last = try store.read { try $0.checkpoints(run: "r") }.last!
            for wanted in [1, 999, 2500, last.vectors] as [Int64] {
                let recent = try store.read { try DensityStore.recentWindow($0.db, $0.run(named: "r"), holding: wanted) }
                let spec = WindowSpec(from: recent.from.map(StepSpec.exact) ?? .start, to: .exact(recent.to))
                let dead = try store.read { try $0.deadFeatures(run: "r", in: .lastVectors(wanted)) }
                #expect(dead == (try store.read { try $0.deadFeatures(run: "r", in: .steps(spec)) }), "at least \(wanted) vectors")
                #expect(dead.window == recent)
                let dense = try store.read { try $0.denseFeatures(run: "r", in: .lastVectors(wanted), threshold: 0.01) }
                #expect(dense == (try store.read { try $0.denseFeatures(run: "r", in: .steps(spec), threshold: 0.01) }), "at least \(wanted) vectors")
                #expect(dense.window == recent)
            }
            #expect(throws: QueryError.notEnoughVectors(run: "r", requested: last.vectors + 1, available: last.vectors)) {
                _ = try store.read { try $0.deadFeatures(run: "r", in: .lastVectors(last.vectors + 1)) }
            }
            #expect(throws: StoreError.settingOutOfRange(.windowVectors, value: "0", expected: "a positive number of vectors")) { _ = try store.read { try $0.denseFeatures(run: "r", in: .lastVectors(0)) } }
        }
    }

    // MARK: - Two runs

    @Test func compareReadsBothRunsAtTheSameStep() throws {
        try withTemporaryPath { path in
            let store = try Self.randomStore(path, keyframeInterval: 3)  // run r: steps 10…90
            try store.createRun(name: "s", features: 20, components: 2)
            var rng = SplitMix64(seed: 11)
            let states = try randomCumulativeStates(features: 20, components: 2, count: 4, using: &rng)
            for (index, state) in states.enumerated() {
                try store.appendCheckpoint(run: "s", step: Int64(15 + 20 * index), state: state)  // 15, 35, 55, 75
            }
            func expectSnapshot(_ snapshot: RunSnapshot, _ run: String, at step: Int64) throws {
                let (checkpoint, state) = try #require(try store.read { try $0.state(run: run, at: .exact(step)) })
                #expect(snapshot.run.name == run)
                #expect(snapshot.checkpoint == checkpoint)
                #expect(snapshot.summary == DensitySummary(state))
            }
            // Default: the latest step both reached, 75 (r at 70).
            let latest = try store.read { try $0.compare(["r", "s"]) }
            #expect(latest.step == 75)
            try expectSnapshot(latest.runs[0], "r", at: 75)
            try expectSnapshot(latest.runs[1], "s", at: 75)
            let swapped = try store.read { try $0.compare(["s", "r"], at: .exact(40)) }
            #expect(swapped.step == 40 && swapped.runs.map(\.run.name) == ["s", "r"])
            try expectSnapshot(swapped.runs[0], "s", at: 40)
            try expectSnapshot(swapped.runs[1], "r", at: 40)
            // s starts at 15.
            #expect(throws: SelectionError.beforeFirstCheckpoint(run: "s", step: 12, first: 15)) { _ = try store.read { try $0.compare(["r", "s"], at: .exact(12)) } }
            // Different widths are named both.
            try store.createRun(name: "narrow", features: 20)
            let error = #expect(throws: QueryError.self) { _ = try store.read { try $0.compare(["r", "narrow"]) } }
            #expect(error == .widthMismatch(first: "r", firstShape: "components=2, features=20",
                                            second: "narrow", secondShape: "features=20, no components"))
            #expect(error?.description.contains("components=2, features=20") == true)
            #expect(error?.description.contains("features=20, no components") == true)
            #expect(throws: StoreError.self) { _ = try store.read { try $0.compare(["r", "nope"]) } }
        }
    }

    /// log10(density + 1e-10) of every pair, sorted: the values whose median the histogram bounds.
    static func sortedLogDensities(_ state: DensityState) -> [Double] {
        state.densities().map { log10($0 + DensitySummary.histogramEpsilon) }.sorted()
    }

    @Test func medianBoundsHoldTheExactMedian() throws {
        try withTemporaryPath { path in
            let store = try Self.randomStore(path, keyframeInterval: 5)
            for checkpoint in try store.read { try $0.checkpoints(run: "r") } {
                let snapshot = try store.read { try $0.compare(["r", "r"], at: .exact(checkpoint.step)) }.runs[0]
                let bounds = try #require(snapshot.medianLog10Density)
                let state = try #require(try store.read { try $0.state(run: "r", at: .exact(checkpoint.step)) }).state
                let values = Self.sortedLogDensities(state)
                let median = (values[values.count / 2 - 1] + values[values.count / 2]) / 2  // 40 values
                #expect(bounds.contains(median), "median \(median) outside \(bounds) at step \(checkpoint.step)")
                // The bounds are bin edges, 0.2 apart per bin spanned.
                for edge in [bounds.lowerBound, bounds.upperBound] {
                    let bins = (edge + 10) / 0.2
                    #expect(abs(bins - bins.rounded()) < 1e-9)
                }
            }
        }
        // A crafted state: 3 dead of 5, so the median is a dead feature's -10, in [-10, -9.8].
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "m", features: 5)
            try store.appendCheckpoint(run: "m", step: 1, state: DensityState(features: 5, components: nil,
                                                                              counts: [0, 0, 0, 10, 100], vectors: 100))
            let snapshot = try store.read { try $0.compare(["m", "m"]) }.runs[0]
            #expect(snapshot.medianLog10Density == -10.0...DensitySummary.binLowerEdge(1, bins: 50))
            // 4 features: the two middle ones are 1e-2 (log -2, bin 40) and 1e-1 (bin 45).
            try store.createRun(name: "e", features: 4)
            try store.appendCheckpoint(run: "e", step: 1, state: DensityState(features: 4, components: nil,
                                                                              counts: [0, 1, 10, 100], vectors: 100))
            let even = try store.read { try $0.compare(["e", "e"]) }.runs[0]
            #expect(even.medianLog10Density == DensitySummary.binLowerEdge(40, bins: 50)...DensitySummary.binLowerEdge(46, bins: 50))
        }
    }

    // MARK: - Refusals

    @Test func badArgumentsAreRefused() throws {
        try withTemporaryPath { path in
            let store = try Self.craftedStore(path)
            for threshold in [0, -0.5, 1.5, .nan, .infinity] as [Double] {
                let refused = StoreError.settingOutOfRange(.threshold, value: String(threshold), expected: "a density in (0, 1]")
                #expect(throws: refused) { _ = try store.read { try $0.deadFeatures(run: "c", threshold: threshold) } }
                #expect(throws: refused) { _ = try store.read { try $0.denseFeatures(run: "c", threshold: threshold) } }
            }
            #expect(throws: StoreError.settingOutOfRange(.threshold, value: "0.0", expected: "a density in (0, 1]")) { _ = try store.read { try $0.deadFeatures(run: "c", threshold: 0) } }
            #expect(throws: SelectionError.windowNotOrdered(run: "c", window: WindowSpec(from: .exact(30), to: .exact(30)), from: 30, to: 30)) {
                _ = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(30), to: .exact(30)))) }
            }
            #expect(throws: SelectionError.windowNotOrdered(run: "c", window: WindowSpec(from: .exact(40), to: .exact(20)), from: 40, to: 20)) {
                _ = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(40), to: .exact(20)))) }
            }
            #expect(throws: SelectionError.windowNotOrdered(run: "c", window: WindowSpec(from: .exact(21), to: .exact(29)), from: 20, to: 20)) {
                _ = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(21), to: .exact(29)))) }
            }
            #expect(throws: SelectionError.windowNotOrdered(run: "c", window: WindowSpec(from: .exact(55), to: .latest), from: 50, to: 50)) {
                _ = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(55), to: .latest))) }
            }
            #expect(throws: SelectionError.beforeFirstCheckpoint(run: "c", step: 5, first: 10)) { _ = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(5), to: .latest))) } }
            #expect(throws: SelectionError.beforeFirstCheckpoint(run: "c", step: 5, first: 10)) { _ = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .start, to: .exact(5)))) } }
            #expect(throws: SelectionError.beforeFirstCheckpoint(run: "c", step: 5, first: 10)) { _ = try store.read { try $0.denseFeatures(run: "c", in: .steps(WindowSpec(from: .exact(5), to: .latest))) } }
            #expect(throws: StoreError.self) { _ = try store.read { try $0.deadFeatures(run: "nope") } }
            #expect(throws: StoreError.self) { _ = try store.read { try $0.denseFeatures(run: "nope") } }
            // A run without checkpoints.
            try store.createRun(name: "empty", features: 3)
            for query in [{ _ = try store.read { try $0.deadFeatures(run: "empty") } }, { _ = try store.read { try $0.denseFeatures(run: "empty") } },
                          { _ = try store.read { try DensityStore.recentWindow($0.db, $0.run(named: "empty"), holding: 1) } }] as [() throws -> Void] {
                #expect(throws: SelectionError.noCheckpointYet(run: "empty", pending: [])) { try query() }
            }
        }
    }

    @Test func windowsWithoutVectors() throws {
        try withTemporaryPath { path in
            let store = try Self.craftedStore(path)
            // Checkpoints 60 and 70 add no vectors; 80 adds 100, f0 fires in all of them.
            let at50 = try #require(try store.read { try $0.state(run: "c", at: .exact(50)) }).state
            try store.appendCheckpoint(run: "c", step: 60, state: at50)
            try store.appendCheckpoint(run: "c", step: 70, state: at50)
            var counts = at50.counts
            counts[0] += 100
            try store.appendCheckpoint(run: "c", step: 80, state: DensityState(features: 6, components: nil, counts: counts,
                                                                               vectors: at50.vectors + 100))
            #expect(throws: StoreError.emptyWindow(run: "c", from: 50, to: 70)) { _ = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(50), to: .exact(70)))) } }
            #expect(throws: StoreError.emptyWindow(run: "c", from: 50, to: 60)) { _ = try store.read { try $0.denseFeatures(run: "c", in: .steps(WindowSpec(from: .exact(50), to: .exact(60)))) } }
            // (70, 80] follows (60, 70], which holds no vectors: nothing to call revived.
            let after = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(70), to: .exact(80)))) }
            #expect(after.previous == nil && after.revived == nil)
            #expect(after.dead.map(\.feature) == [1, 2, 3, 4, 5])
            #expect(after.dead.map(\.lastFiredStep) == [10, 50, 50, 30, 50])
            // (60, 80] follows (40, 60]: f0 revived; the window's start being a zero-vector step changes nothing.
            let longer = try store.read { try $0.deadFeatures(run: "c", in: .steps(WindowSpec(from: .exact(60), to: .exact(80)))) }
            #expect(longer.previous == WindowBounds(from: 40, to: 60, vectors: 100))
            #expect(longer.revived == [DeadFeature(component: nil, feature: 0, count: 100, lastFiredStep: 80)])
            // The last-vectors window skips the zero-vector checkpoints.
            #expect(try store.read { try DensityStore.recentWindow($0.db, $0.run(named: "c"), holding: 100) } == WindowBounds(from: 70, to: 80, vectors: 100))
            #expect(try store.read { try DensityStore.recentWindow($0.db, $0.run(named: "c"), holding: 101) } == WindowBounds(from: 40, to: 80, vectors: 200))
        }
    }
}
