import DensityFormats
import DensityMetric
import DensityStore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `density record` encodes each frame while the one before it commits: a recorder killed at any
/// point of that keeps every step it acknowledged, whole, and at most the one step it was
/// committing beyond them; nothing is torn.
@Suite struct RecordPipelineKillTests {
    static let features = 65_536

    /// `count` cumulative states of `features` counts, 4096 vectors a step, each count growing by
    /// a deterministic share of them.
    static func states(count: Int) throws -> [DensityState] {
        var counts = [Int64](repeating: 0, count: features)
        var seed: UInt64 = 0x5EED
        return try (1...count).map { index in
            for i in counts.indices {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                counts[i] += Int64(seed >> 33) % (i % 7 == 0 ? 1 : 200)
            }
            return try DensityState(features: features, components: nil, counts: counts, vectors: Int64(4096 * index))
        }
    }

    @Test(arguments: [3, 9, 16])
    func aRecorderKilledMidStreamKeepsEveryAcknowledgedStepWhole(acknowledgedBeforeKill: Int) throws {
        try Sandbox.with { box in
            let steps = (1...24).map { Int64($0 * 10) }
            let expected = Dictionary(uniqueKeysWithValues: zip(steps, try Self.states(count: steps.count)))
            var stream = [UInt8]()
            for step in steps {
                var writer = SafetensorsWriter()
                try writer.add("neuron_fired_count", shape: [Self.features], values: .int64(expected[step]!.counts))
                try writer.add("num_activation_vectors", shape: [], values: .int64([expected[step]!.vectors]))
                try writer.add("step", shape: [], values: .int64([step]))
                stream += StateFrameReader.frame(writer.bytes())
            }
            let input = URL(fileURLWithPath: try box.write(Data(stream), to: "stream.bin"))
            _ = try box.ok(["create", "r", "--features", String(Self.features), "--keyframe-interval", "4", "--db", box.db])
            let recorder = try BackgroundProcess(box, ["record", "r", "--verbose", "--db", box.db], stdin: input)
            func acknowledged(_ text: String) -> [Int64] {
                steps.filter { text.contains("run 'r': step \($0) stored from") }
            }
            // Killed as soon as it has acknowledged that many steps: the next one is then being
            // committed, the one after it encoded.
            let deadline = Date().addingTimeInterval(60)
            while acknowledged(recorder.stderrSoFar).count < acknowledgedBeforeKill, Date() < deadline { usleep(200) }
            recorder.killNow()
            let result = try recorder.wait()
            let reported = acknowledged(result.stderr)
            try #require(reported.count >= acknowledgedBeforeKill, "\(result)")

            #expect(try RawStore.integrityCheck(box.db) == ["ok"])
            let stored = try KillTests.states(box.db, run: "r")
            let storedSteps = stored.keys.sorted()
            #expect(storedSteps == Array(steps.prefix(storedSteps.count)), "steps stored: \(storedSteps)")
            // Every acknowledged step is stored, and at most the one after them besides.
            #expect(Array(storedSteps.prefix(reported.count)) == reported)
            #expect(storedSteps.count <= reported.count + 1 || !recorder.wasKilled, "stored \(storedSteps), acknowledged \(reported)")
            for (step, state) in stored {
                #expect(state == expected[step], "the state at step \(step) differs from the frame sent")
            }
            _ = try box.ok(["verify", "--db", box.db])
            // The stream resumes: recording it again stores the rest, and re-sent steps are no-ops.
            let again = try BackgroundProcess(box, ["record", "r", "--db", box.db], stdin: input).wait()
            #expect(again.status == 0, "\(again)")
            #expect(try KillTests.states(box.db, run: "r") == expected)
        }
    }
}
