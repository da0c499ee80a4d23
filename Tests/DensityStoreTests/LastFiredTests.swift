import DensityMetric
@testable import DensityStore
import Testing

/// `dead`'s last-fired steps, found from keyframes and only the delta chains that hold an answer,
/// equal those of a plain walk over every checkpoint, for every keyframe interval and window.
@Suite struct LastFiredTests {
    /// A history where features die at scattered steps, some never fire, some fire only at the
    /// first checkpoint, over several chunks and two components.
    static func history(keyframeInterval: Int, path: String) throws -> (DensityStore, steps: [Int64], counts: [[Int64]]) {
        let store = try DensityStore(path: path)
        let features = 13, components = 2, width = features * components
        try store.createRun(name: "r", features: features, components: components, chunkFeatures: 5,
                            keyframeInterval: keyframeInterval)
        var rng = SplitMix64(seed: UInt64(40 + keyframeInterval))
        let dies = (0..<width).map { index -> Int in
            switch index % 6 {
            case 0: 0                                  // never fires
            case 1: 1                                  // fires at the first checkpoint only
            default: Int(rng.next() % 45) + 1          // dies somewhere (45 and more: never dies)
            }
        }
        var counts = [Int64](repeating: 0, count: width), vectors: Int64 = 0
        var steps: [Int64] = [], history: [[Int64]] = []
        for index in 0..<44 {
            vectors += 3
            for f in 0..<width where index < dies[f] { counts[f] += Int64(rng.next() % 3) }
            if index == 0 { for f in 0..<width where f % 6 == 1 { counts[f] = max(counts[f], 1) } }
            let step = Int64(10 * index + 7)
            try store.appendCheckpoint(run: "r", step: step,
                                       state: try DensityState(features: features, components: components, counts: counts, vectors: vectors))
            steps.append(step)
            history.append(counts)
        }
        return (store, steps, history)
    }

    /// The last step each flat index's count grew, up to checkpoint `end`, by walking them all.
    static func reference(_ steps: [Int64], _ counts: [[Int64]], end: Int) -> [Int64?] {
        var found = [Int64?](repeating: nil, count: counts[0].count)
        for index in 0...end {
            for f in found.indices {
                let before: Int64 = index == 0 ? 0 : counts[index - 1][f]
                if counts[index][f] != before { found[f] = steps[index] }
            }
        }
        return found
    }

    @Test(arguments: [1, 2, 3, 5, 32])
    func lastFiredStepsMatchAWalkOverEveryCheckpoint(keyframeInterval: Int) throws {
        try withTemporaryPath { path in
            let (store, steps, counts) = try Self.history(keyframeInterval: keyframeInterval, path: path)
            let windows: [(from: Int?, to: Int)] = [(nil, 43), (30, 43), (5, 20), (0, 1), (nil, 0), (40, 43), (12, 37)]
            var listed = 0
            for (from, to) in windows {
                let expected = Self.reference(steps, counts, end: to)
                for threshold in [nil, 0.2, 0.6] as [Double?] {
                    let report = try store.read { try $0.deadFeatures(run: "r", in: .steps(WindowSpec(from: from.map { .exact(steps[$0]) } ?? .start, to: .exact(steps[to]))), threshold: threshold) }
                    for feature in report.dead + (report.revived ?? []) {
                        let index = (feature.component ?? 0) * 13 + feature.feature
                        #expect(feature.lastFiredStep == expected[index],
                                "interval \(keyframeInterval), window \(String(describing: from)):\(to), threshold \(String(describing: threshold)), feature \(index)")
                        listed += 1
                    }
                }
            }
            #expect(listed > 100, "the windows should list many features with a history, got \(listed)")
        }
    }

    /// With several chunks damaged where the search reads, the error names the first of them in
    /// storage order, whichever core met it first.
    @Test func aDamagedSearchNamesTheFirstDamagedChunk() throws {
        try withTemporaryPath { path in
            let (store, steps, counts) = try Self.history(keyframeInterval: 3, path: path)
            // The chunks listing a dead feature that fired before the window (30, 43].
            let listed = counts[43].indices.filter { counts[43][$0] > 0 && counts[43][$0] == counts[30][$0] }
            let positions = Set(listed.map { ($0 / 13) * 3 + ($0 % 13) / 5 }).sorted()
            try #require(positions.count >= 3)
            // Every chunk of the keyframe the binary search reads first (the 8th of 15, step 217).
            let raw = try Connection(path: path)
            try raw.execute("""
                UPDATE chunks SET checksum = (checksum + 1) % 4294967296
                WHERE checkpoint_id = (SELECT id FROM checkpoints WHERE step = ?)
                """, [.integer(steps[21])])
            for _ in 0..<5 {
                do {
                    _ = try store.read { try $0.deadFeatures(run: "r", in: .steps(WindowSpec(from: .exact(steps[30]), to: .exact(steps[43])))) }
                    Issue.record("a damaged keyframe was read without an error")
                } catch StoreError.corruptChunk(let run, let step, let component, let chunk, let reason) {
                    #expect(run == "r" && step == steps[21] && component * 3 + chunk == positions[0] && reason.hasPrefix("checksum mismatch"),
                            "\(step) \(component) \(chunk) \(reason)")
                }
            }
        }
    }
}
