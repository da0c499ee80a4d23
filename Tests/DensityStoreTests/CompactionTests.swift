import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// Compaction drops checkpoints without changing a single count at any kept step, and delta chains
/// stay bounded by the keyframe interval before and after.
@Suite struct CompactionTests {
    /// A run of `count` checkpoints at steps 10, 20, …, with a short keyframe interval.
    private func makeRun(_ path: String, count: Int, keyframeInterval: Int) throws -> (DensityStore, [Int64: DensityState]) {
        let store = try DensityStore(path: path)
        try store.createRun(name: "r", features: 50, components: 2, chunkFeatures: 16, keyframeInterval: keyframeInterval)
        var rng = SplitMix64(seed: 77)
        let states = try randomCumulativeStates(features: 50, components: 2, count: count, using: &rng)
        var written: [Int64: DensityState] = [:]
        for (index, state) in states.enumerated() {
            let step = Int64(index + 1) * 10
            try store.appendCheckpoint(run: "r", step: step, state: state)
            written[step] = state
        }
        return (store, written)
    }

    @Test(arguments: [(keepEvery: Int64(30), keepLast: 1), (50, 3), (10, 1), (1000, 2)])
    func keptStepsStayBitIdentical(keepEvery: Int64, keepLast: Int) throws {
        try withTemporaryPath { path in
            let (store, written) = try makeRun(path, count: 40, keyframeInterval: 4)
            let steps = written.keys.sorted()
            let expectedKept = steps.enumerated().filter { index, step in
                index == 0 || step % keepEvery == 0 || index >= steps.count - keepLast
            }.map(\.element)

            let report = try store.compact(run: "r", keepEvery: keepEvery, keepLast: keepLast)
            #expect(report.keptSteps == expectedKept)
            #expect(report.dropped == steps.count - expectedKept.count)
            let after = try store.read { try $0.checkpoints(run: "r") }
            #expect(after.map(\.step) == expectedKept)
            // Every kept state reads back exactly as written, from this store and a fresh reader.
            let reader = try DensityStore(path: path, readOnly: true)
            for step in expectedKept {
                #expect(try store.read { try $0.state(run: "r", at: .exact(step)) }.state == written[step], "step \(step)")
                #expect(try reader.read { try $0.state(run: "r", at: .exact(step)) }.state == written[step], "step \(step)")
            }
            // Windows between kept steps are exact; chains stay within the keyframe interval.
            for (from, to) in zip(expectedKept, expectedKept.dropFirst()) {
                #expect(try store.read { try $0.window(run: "r", WindowSpec(from: .exact(from), to: .exact(to))) }.state == written[to]!.subtracting(written[from]!))
            }
            #expect(after.allSatisfy { $0.deltaDepth < 4 })
            #expect(after.first?.deltaDepth == 0)
            for (previous, next) in zip(after, after.dropFirst()) {
                #expect(next.deltaDepth == 0 || next.deltaDepth == previous.deltaDepth + 1)
            }
            // A trend after compaction has one point per kept step, with the written counts.
            #expect(try store.read { try $0.trend(run: "r", feature: 17, component: 1) }.map(\.count)
                    == expectedKept.map { written[$0]!.count(feature: 17, component: 1) })
            // The run goes on: the next checkpoint is checked against, and stored on top of, the latest.
            let next = try DensityState(features: 50, components: 2, counts: written[steps.last!]!.counts.map { $0 + 1 },
                                        vectors: written[steps.last!]!.vectors + 1,
                                        nonFinite: written[steps.last!]!.nonFinite)
            try store.appendCheckpoint(run: "r", step: 10_000, state: next)
            #expect(try store.read { try $0.state(run: "r") }.state == next)
        }
    }

    @Test func compactionReclaimsSpace() throws {
        try withTemporaryPath { path in
            let (store, _) = try makeRun(path, count: 60, keyframeInterval: 8)
            let report = try store.compact(run: "r", keepEvery: 200)
            #expect(report.keptSteps == [10, 200, 400, 600])
            #expect(report.bytesAfter < report.bytesBefore)
        }
    }

    @Test func compactingTwiceChangesNothingTheSecondTime() throws {
        try withTemporaryPath { path in
            let (store, written) = try makeRun(path, count: 20, keyframeInterval: 3)
            let first = try store.compact(run: "r", keepEvery: 40)
            let second = try store.compact(run: "r", keepEvery: 40)
            #expect(second.keptSteps == first.keptSteps)
            #expect(second.dropped == 0 && second.reencoded == 0)
            for step in first.keptSteps {
                #expect(try store.read { try $0.state(run: "r", at: .exact(step)) }.state == written[step])
            }
        }
    }

    @Test func badSettingsAndUnknownRunsChangeNothing() throws {
        try withTemporaryPath { path in
            let (store, _) = try makeRun(path, count: 5, keyframeInterval: 2)
            #expect(throws: StoreError.self) { try store.compact(run: "r", keepEvery: 0) }
            #expect(throws: StoreError.self) { try store.compact(run: "r", keepEvery: 10, keepLast: 0) }
            #expect(throws: StoreError.self) { try store.compact(run: "nope", keepEvery: 10) }
            #expect(try store.read { try $0.checkpoints(run: "r") }.count == 5)
        }
    }

    @Test func readsAreBoundedByTheKeyframeInterval() throws {
        try withTemporaryPath { path in
            let (store, written) = try makeRun(path, count: 30, keyframeInterval: 7)
            let checkpoints = try store.read { try $0.checkpoints(run: "r") }
            #expect(checkpoints.map(\.deltaDepth) == (0..<30).map { $0 % 7 })
            try store.withConnection { db in
                let run = try DensityStore.requireRun(db, "r")
                for checkpoint in checkpoints {
                    let chain = try DensityStore.chain(db, run, to: checkpoint)
                    #expect(chain.count == checkpoint.deltaDepth + 1 && chain.count <= 7)
                    #expect(chain.last == checkpoint && chain.first?.deltaDepth == 0)
                }
            }
            for checkpoint in checkpoints {
                #expect(try store.read { try $0.state(run: "r", at: .exact(checkpoint.step)) }.state == written[checkpoint.step])
            }
        }
    }
}
