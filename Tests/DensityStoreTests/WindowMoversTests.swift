import DensityMetric
@testable import DensityStore
import Synchronization
import Testing

/// The movers of a window, found chunk by chunk, against the same answers computed here from whole
/// states: the window's summary, its counts as handed over, the risers and fallers (ranked by
/// sorting every feature, ties included) and the most recently dead (each feature's last rise
/// found by scanning every checkpoint).
@Suite struct WindowMoversTests {
    /// A history with many ties (few vectors per step) and features that stop firing at
    /// different steps: feature i of a step fires on up to the step's vectors, unless it stopped.
    static func history(width: Int, count: Int, seed: UInt64) -> [(counts: [Int64], vectors: Int64)] {
        var rng = SplitMix64(seed: seed)
        let stops = (0..<width).map { _ in Int.random(in: 0...(count + 3), using: &rng) }
        var counts = [Int64](repeating: 0, count: width), vectors: Int64 = 0
        var result: [(counts: [Int64], vectors: Int64)] = []
        for index in 0..<count {
            let batch = Int64.random(in: 1...4, using: &rng)
            vectors += batch
            for i in 0..<width where index < stops[i] && rng.next() % 3 != 0 {
                counts[i] += Int64.random(in: 0...batch, using: &rng)
            }
            result.append((counts, vectors))
        }
        return result
    }

    @Test(arguments: [(nil as Int?, 1 as UInt64), (2, 2), (nil, 3)])
    func moversEqualWholeStateAnswers(components: Int?, seed: UInt64) throws {
        let features = 23, count = 14
        let width = (components ?? 1) * features
        let history = Self.history(width: width, count: count, seed: seed)
        let states = try history.map { try DensityState(features: features, components: components, counts: $0.counts, vectors: $0.vectors) }
        let steps = (0..<count).map { Int64(10 * ($0 + 1)) }
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "r", features: features, components: components, chunkFeatures: 5, keyframeInterval: 4)
            for (step, state) in zip(steps, states) { try store.appendCheckpoint(run: "r", step: step, state: state) }
            let state = { (step: Int64?) in try step.map { states[steps.firstIndex(of: $0)!] }
                ?? DensityState(features: features, components: components) }
            var compared = 0  // recently dead features compared
            for (from, to) in [(nil, 50), (90, 140), (120, 140), (60, 110), (130, 140)] as [(Int64?, Int64)] {
                for top in [0, 1, 3, 200] {
                    let handed = Mutex<[Int64]>([])
                    let spec = WindowSpec(StepWindow(from: from, to: to))
                    let movers = try store.read { snapshot in
                        try snapshot.movers(run: "r", window: spec, top: top) { _, start, counts in
                            handed.withLock { #expect($0.count == start); $0 += counts }
                        }
                    }
                    let window = try state(to).subtracting(try state(from))
                    let label = "(\(String(describing: from)), \(to)] top \(top)"
                    #expect(handed.withLock { $0 } == window.counts, "\(label)")
                    #expect(movers.summary == DensitySummary(window), "\(label)")
                    #expect(movers.window == WindowBounds(from: from, to: to, vectors: window.vectors))
                    guard let bounds = movers.previous else {
                        #expect(from == nil)
                        continue
                    }
                    let previous = try state(bounds.to).subtracting(try state(bounds.from))
                    #expect(bounds.vectors == previous.vectors)
                    let now = window.densities(), before = previous.densities()
                    let change = now.indices.map { now[$0] - before[$0] }
                    let order = change.indices.sorted { change[$0] != change[$1] ? change[$0] > change[$1] : $0 < $1 }
                    let risers = Array(order.prefix(top).filter { change[$0] > 0 })
                    let fallers = Array(order.reversed().prefix(top).filter { change[$0] < 0 })
                    #expect(movers.risers.map(\.index) == (previous.vectors > 0 ? risers : []), "\(label)")
                    #expect(movers.fallers.map(\.index) == (previous.vectors > 0 ? fallers : []), "\(label)")
                    #expect(movers.risers.allSatisfy { $0.now == now[$0.index] && $0.before == before[$0.index] })
                    if top == 3 { #expect(!(movers.risers + movers.fallers).isEmpty, "\(label): nothing to compare") }

                    // The most recently dead: every checkpoint scanned for the first with the count
                    // the feature has at the window's start.
                    let start = try state(from)
                    let candidates = (0..<width).filter { window.counts[$0] == 0 && start.counts[$0] > 0 }
                    let lastRose = candidates.map { i in
                        (index: i, lastRose: steps.first { states[steps.firstIndex(of: $0)!].counts[i] == start.counts[i] }!)
                    }.sorted { $0.lastRose != $1.lastRose ? $0.lastRose > $1.lastRose : $0.index < $1.index }
                    for limit in [1, 4, 50] {
                        let found = try store.read { try $0.movers(run: "r", window: WindowSpec(StepWindow(from: from, to: to)), top: 0, recentlyDead: limit) }
                        #expect(found.recentlyDead.map(\.index) == lastRose.prefix(limit).map(\.index), "\(label) limit \(limit)")
                        #expect(found.recentlyDead.map(\.lastRose) == lastRose.prefix(limit).map(\.lastRose), "\(label) limit \(limit)")
                    }
                    compared += lastRose.count
                }
            }
            #expect(compared > 10, "too few recently dead features to compare")
        }
    }

    @Test func aWindowHistogramEqualsTheSummaryOfTheWindowsCounts() throws {
        let features = 31
        let history = Self.history(width: features, count: 9, seed: 7)
        let states = try history.map { try DensityState(features: features, components: nil, counts: $0.counts, vectors: $0.vectors) }
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "r", features: features, chunkFeatures: 4, keyframeInterval: 3)
            for (index, state) in states.enumerated() { try store.appendCheckpoint(run: "r", step: Int64(index + 1), state: state) }
            for bins in [1, 7, 20, 50] {
                let (window, summary) = try store.read { try $0.windowSummary(run: "r", WindowSpec(from: .exact(3), to: .latest), bins: bins) }
                #expect(window == WindowBounds(from: 3, to: 9, vectors: states[8].vectors - states[2].vectors))
                #expect(summary == DensitySummary(try states[8].subtracting(states[2]), bins: bins))
            }
        }
    }
}
