import DensityMetric
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import DensityStore

/// A read-only store sees complete checkpoints while another connection writes, and never makes
/// the writer wait.
@Suite struct ConcurrentReadTests {
    @Test func readersSeeCompleteCheckpointsWhileAWriterAppends() throws {
        try withTemporaryPath { path in
            let writer = try DensityStore(path: path)
            try writer.createRun(name: "r", features: 3000, components: 2, chunkFeatures: 512, keyframeInterval: 8)
            var rng = SplitMix64(seed: 21)
            let states = try randomCumulativeStates(features: 3000, components: 2, count: 80, using: &rng)
            let expected = Dictionary(uniqueKeysWithValues: states.enumerated().map { (Int64($0.offset + 1), $0.element) })
            try writer.appendCheckpoint(run: "r", step: 1, state: states[0])

            let reader = try DensityStore(path: path, readOnly: true)
            let done = Atomic<Bool>(false)
            let writerLatencies = Mutex<[Duration]>([])
            let group = DispatchGroup()
            DispatchQueue.global().async(group: group) {
                let clock = ContinuousClock()
                for (index, state) in states.enumerated().dropFirst() {
                    let elapsed = clock.measure {
                        _ = try? writer.appendCheckpoint(run: "r", step: Int64(index + 1), state: state)
                    }
                    writerLatencies.withLock { $0.append(elapsed) }
                }
                done.store(true, ordering: .releasing)
            }
            var reads = 0
            var seenSteps = Set<Int64>()
            while !done.load(ordering: .acquiring) || reads < 5 {
                // Each read is one transaction: the state it returns is exactly one written state.
                let latest = try #require(try reader.read { try $0.state(run: "r") })
                #expect(latest.state == expected[latest.checkpoint.step])
                seenSteps.insert(latest.checkpoint.step)
                let summary = try #require(try reader.read { try $0.summary(run: "r", at: .exact(latest.checkpoint.step)) })
                #expect(summary.summary == DensitySummary(expected[summary.checkpoint.step]!))
                if latest.checkpoint.step > 2 {
                    let window = try reader.read { try $0.window(run: "r", WindowSpec(from: .exact(latest.checkpoint.step - 2), to: .exact(latest.checkpoint.step))) }
                    #expect(window.state == (try expected[window.to]!.subtracting(expected[window.from!]!)))
                }
                reads += 1
            }
            group.wait()
            #expect(try writer.read { try $0.checkpoints(run: "r") }.count == states.count)
            #expect(reads >= 5)
            // The writer was never held up by the readers (the busy timeout is 5 s).
            let slowest = writerLatencies.withLock { $0.max() } ?? .zero
            #expect(slowest < .seconds(2), "slowest append: \(slowest)")
            #expect(writerLatencies.withLock { $0.count } == states.count - 1)
        }
    }
}
