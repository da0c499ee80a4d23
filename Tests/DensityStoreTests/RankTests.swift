import DensityMetric
import DensityStore
import Foundation
import Testing

/// Runs written by several ranks: partial states summed per step, pending steps invisible until
/// complete, and merged stores equal to one store written by everyone.
@Suite struct RankTests {
    static let (features, components, steps, worldSize) = (11, 2, 7, 4)

    /// Each rank's cumulative states at steps 10, 20, …; the single-process state is their sum.
    static func rankStates(seed: UInt64) throws -> [[DensityState]] {
        var rng = SplitMix64(seed: seed)
        return try (0..<worldSize).map { _ in
            // Scaled down by 8; each step adds one vector more, so that no count (rounded down)
            // grows by more than the vectors do.
            try randomCumulativeStates(features: features, components: components, count: steps, using: &rng)
                .enumerated().map { index, state in
                    try DensityState(features: features, components: components, counts: state.counts.map { $0 >> 3 },
                                     vectors: (state.vectors >> 3) + Int64(index), nonFinite: 0)
                }
        }
    }

    static func sum(_ states: [[DensityState]], step index: Int) throws -> DensityState {
        try states.dropFirst().reduce(states[0][index]) { try $0.merged(with: $1[index]) }
    }

    /// The (step index, rank) writes of four ranks interleaved at random, each rank in step order.
    static func interleaving(seed: UInt64) -> [(index: Int, rank: Int)] {
        var rng = SplitMix64(seed: seed)
        var next = [Int](repeating: 0, count: worldSize)
        var order: [(Int, Int)] = []
        while order.count < worldSize * steps {
            let open = (0..<worldSize).filter { next[$0] < steps }
            let rank = open.randomElement(using: &rng)!
            order.append((next[rank], rank))
            next[rank] += 1
        }
        return order
    }

    static func makeRun(_ store: DensityStore) throws {
        try store.createRun(name: "r", features: features, components: components, chunkFeatures: 4, keyframeInterval: 3)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func outOfOrderRanksShowOnlyCompleteStepsEqualToOneProcess(seed: UInt64) throws {
        let states = try Self.rankStates(seed: seed)
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try Self.makeRun(store)
            try store.createRun(name: "single", features: Self.features, components: Self.components, chunkFeatures: 4, keyframeInterval: 3)
            var written = Set<[Int]>()
            for (index, rank) in Self.interleaving(seed: seed) {
                let step = Int64(10 * (index + 1))
                let outcome = try store.record(run: "r", step: step, state: states[rank][index], rank: (rank, Self.worldSize))
                #expect(!outcome.alreadyStored)
                written.insert([index, rank])
                // Visible: the longest prefix of steps every rank has written.
                let complete = (0..<Self.steps).prefix { i in (0..<Self.worldSize).allSatisfy { written.contains([i, $0]) } }
                let visible = try store.read { try $0.checkpoints(run: "r") }.map(\.step)
                #expect(visible == complete.map { Int64(10 * ($0 + 1)) })
                let pending = try store.read { try $0.pendingSteps(run: "r") }
                #expect(pending.allSatisfy { $0.ranks.count < Self.worldSize || $0.step > (visible.last ?? -1) })
                #expect(Set(pending.map(\.step)).isDisjoint(with: visible))
                // Writing the same partial state again changes nothing.
                #expect(try store.record(run: "r", step: step, state: states[rank][index], rank: (rank, Self.worldSize)).alreadyStored)
            }
            for index in 0..<Self.steps {
                try store.appendCheckpoint(run: "single", step: Int64(10 * (index + 1)), state: try Self.sum(states, step: index))
            }
            #expect(try store.read { try $0.pendingSteps(run: "r") }.isEmpty)
            for index in 0..<Self.steps {
                let step = Int64(10 * (index + 1))
                #expect(try store.read { try $0.state(run: "r", at: .exact(step)) }.state == store.read { try $0.state(run: "single", at: .exact(step)) }.state)
                #expect(try store.read { try $0.summary(run: "r", at: .exact(step)) }.summary == store.read { try $0.summary(run: "single", at: .exact(step)) }.summary)
            }
            #expect(try store.read { try $0.trend(run: "r", feature: 9, component: 1) } == store.read { try $0.trend(run: "single", feature: 9, component: 1) })
            #expect(try store.read { try $0.window(run: "r", WindowSpec(from: .exact(20), to: .exact(60))) }.state == store.read { try $0.window(run: "single", WindowSpec(from: .exact(20), to: .exact(60))) }.state)
        }
    }

    @Test func wrongRankWritesAreRefusedAndChangeNothing() throws {
        let states = try Self.rankStates(seed: 9)
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try Self.makeRun(store)
            for rank in 0..<Self.worldSize {
                try store.record(run: "r", step: 10, state: states[rank][0], rank: (rank, Self.worldSize))
            }
            try store.record(run: "r", step: 20, state: states[1][1], rank: (1, Self.worldSize))
            func refused(_ body: () throws -> Void, _ expected: (StoreError) -> Bool) {
                do { try body(); Issue.record("expected a refusal") } catch let error as StoreError {
                    #expect(expected(error), "\(error)")
                } catch { Issue.record("\(error)") }
            }
            refused({ try store.record(run: "r", step: 20, state: states[2][1], rank: (1, Self.worldSize)) }) {
                if case .conflictingState(_, 20, 1) = $0 { return true } else { return false }
            }
            refused({ try store.record(run: "r", step: 30, state: states[0][2], rank: (0, 8)) }) {
                if case .worldSizeMismatch(_, 4, 8) = $0 { return true } else { return false }
            }
            refused({ try store.record(run: "r", step: 30, state: states[0][2]) }) {
                if case .rankRequired(_, 4) = $0 { return true } else { return false }
            }
            refused({ try store.appendCheckpoint(run: "r", step: 30, state: states[0][2]) }) {
                if case .rankRequired(_, 4) = $0 { return true } else { return false }
            }
            refused({ try store.record(run: "r", step: 5, state: states[3][0], rank: (3, Self.worldSize)) }) {
                if case .rankStepCompleted(_, 5, 3, 10) = $0 { return true } else { return false }
            }
            // A step whose ranks sum below the previous step is refused with the last rank's write.
            for rank in 0..<(Self.worldSize - 1) where rank != 1 {
                try store.record(run: "r", step: 20, state: states[rank][1], rank: (rank, Self.worldSize))
            }
            let zero = try DensityState(features: Self.features, components: Self.components)
            refused({ try store.record(run: "r", step: 20, state: zero, rank: (3, Self.worldSize)) }) {
                if case .countsDecreased(_, 20, 10, _) = $0 { return true } else { return false }
            }
            let pending = try store.read { try $0.pendingSteps(run: "r") }
            #expect(pending.map(\.step) == [20] && pending.map(\.ranks) == [[0, 1, 2]] && pending.map(\.missing) == [[3]])
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [10])
            // Resuming at step 10 with --discard-later drops the partial step 20.
            _ = try store.resume(run: "r", at: .exact(10), discardLater: true)
            #expect(try store.read { try $0.pendingSteps(run: "r") }.isEmpty)
        }
    }

    @Test func mergingTwoMachinesEqualsWritingEverythingIntoOneStore() throws {
        let states = try Self.rankStates(seed: 5)
        try withTemporaryPath { onePath in
            try withTemporaryPath { aPath in
                try withTemporaryPath { bPath in
                    try withTemporaryPath { mergedPath in
                        let one = try DensityStore(path: onePath), a = try DensityStore(path: aPath), b = try DensityStore(path: bPath)
                        for store in [one, a, b] { try Self.makeRun(store) }
                        try one.createRun(name: "plain", features: 3)
                        try a.createRun(name: "plain", features: 3)
                        // Machine a wrote ranks 0-1 and a plain run; machine b ranks 2-3 (b is one step behind).
                        for index in 0..<Self.steps {
                            for rank in 0..<Self.worldSize where !(rank >= 2 && index == Self.steps - 1) {
                                let step = Int64(10 * (index + 1))
                                try one.record(run: "r", step: step, state: states[rank][index], rank: (rank, Self.worldSize))
                                try (rank < 2 ? a : b).record(run: "r", step: step, state: states[rank][index], rank: (rank, Self.worldSize))
                            }
                            let plain = try DensityState(features: 3, components: nil, counts: [Int64(index), 0, 1], vectors: Int64(index) + 1)
                            try one.appendCheckpoint(run: "plain", step: Int64(index), state: plain)
                            try a.appendCheckpoint(run: "plain", step: Int64(index), state: plain)
                        }
                        #expect(try a.read { try $0.checkpoints(run: "r") }.isEmpty && b.read { try $0.checkpoints(run: "r") }.isEmpty)
                        let merged = try DensityStore(path: mergedPath)
                        let fromA = try merged.merge(from: [DensityStore(path: aPath, readOnly: true)])
                        #expect(fromA.runsCreated == 2 && fromA.checkpointsCopied == Self.steps && fromA.stepsCompleted == 0)
                        let fromB = try merged.merge(from: [DensityStore(path: bPath, readOnly: true)])
                        #expect(fromB.stepsCompleted == Self.steps - 1)
                        // Merging again changes nothing.
                        let again = try merged.merge(from: [DensityStore(path: aPath, readOnly: true)])
                        #expect(again.checkpointsCopied == 0 && again.checkpointsAlreadyThere == Self.steps && again.rankStatesCopied == 0)
                        for run in ["r", "plain"] {
                            #expect(try merged.read { try $0.checkpoints(run: run) }.map(\.step) == one.read { try $0.checkpoints(run: run) }.map(\.step))
                            #expect(try merged.read { try $0.pendingSteps(run: run) } == one.read { try $0.pendingSteps(run: run) })
                            for checkpoint in try one.read { try $0.checkpoints(run: run) } {
                                #expect(try merged.read { try $0.state(run: run, at: .exact(checkpoint.step)) }.state
                                        == one.read { try $0.state(run: run, at: .exact(checkpoint.step)) }.state)
                            }
                        }
                        #expect(try merged.read { try $0.pendingSteps(run: "r") }.map(\.ranks) == [[0, 1]])
                    }
                }
            }
        }
    }
}
