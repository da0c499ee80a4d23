import DensityFormats
import Foundation
import Testing

/// A run as wide as the largest sparse autoencoders: 16,777,216 features (128 MiB per int64
/// state) recorded through `density record`, resumed by a second recorder process, and queried.
/// Long mode only (`DENSITY_LONG_TESTS=1`): every state is 128 MiB and a debug build encodes it slowly.
@Suite(.enabled(if: TrustSettings.long, "DENSITY_LONG_TESTS=1: 16M-feature states of 128 MiB each"))
struct WideRunTests {
    static let features = 1 << 24

    /// The count of feature `f` at step `s`: grows by `f`'s own rate (0 to 996) each step, below
    /// the 1,000 vectors a step adds, and differs from feature to feature.
    static func count(_ f: Int, step: Int64) -> Int64 { Int64((f &* 2_654_435_761) % 997) * step }

    /// One frame of the stream at `step`, as a training loop sends it.
    static func frame(step: Int64) throws -> [UInt8] {
        var writer = SafetensorsWriter()
        try writer.add("neuron_fired_count", shape: [features], values: .int64((0..<features).map { count($0, step: step) }))
        try writer.add("num_activation_vectors", shape: [], values: .int64([1_000 * step]))
        try writer.add("step", shape: [], values: .int64([step]))
        return StateFrameReader.frame(writer.bytes())
    }

    @Test func sixteenMillionFeaturesRecordResumeAndAnswer() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", String(Self.features)])
            // Two steps in one recorder, then a third in a new one that must read step 2 back.
            let first = try box.write(Data(try Self.frame(step: 1) + Self.frame(step: 2)), to: "first.bin")
            let recorded = try RecordCommandTests.record(box, first)
            #expect(recorded.status == 0, "\(recorded)")
            #expect(recorded.stderr.contains("recorded 2 frames (last step 2)"))
            let resumed = try box.ok(["resume", "r"])
            #expect(resumed.contains("2"))
            let second = try box.write(Data(try Self.frame(step: 3)), to: "second.bin")
            let again = try RecordCommandTests.record(box, second)
            #expect(again.status == 0 && again.stderr.contains("recorded 1 frame (last step 3)"), "\(again)")

            let show = try box.ok(["show", "r", "--format", "json"])
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(show.utf8)) as? [String: Any])
            #expect((summary["step"] as? NSNumber)?.int64Value == 3)
            #expect((summary["vectors"] as? NSNumber)?.int64Value == 3_000)
            // Feature f's rate is (f * 2654435761) % 997; those with rate 0 are dead.
            let dead = (0..<Self.features).reduce(0) { $0 + (Self.count($1, step: 1) == 0 ? 1 : 0) }
            #expect((summary["dead"] as? NSNumber)?.intValue == dead)

            // The window (1, 3]: a feature dead there is one of rate 0.
            let diff = try box.ok(["diff", "r", "--from", "1", "--to", "3"])
            #expect(diff.contains("window (1, 3]") && diff.contains("dead in window     \(dead) "), "\(diff)")

            for feature in [0, 1, 12_345, Self.features - 1] {
                let trend = try box.ok(["trend", "r", "--feature", String(feature), "--format", "csv"])
                let rows = trend.split(separator: "\n").dropFirst()
                #expect(rows.count == 3, "\(trend)")
                for (row, step) in zip(rows, Int64(1)...3) {
                    #expect(row.hasPrefix("\(step),\(1_000 * step),\(Self.count(feature, step: step)),"),
                            "feature \(feature) at step \(step): \(row)")
                }
            }

            // The exact state comes back bit for bit.
            let out = box.path("state.safetensors")
            try box.ok(["state", "r", "--dtype", "int64", "--out", out])
            let state = try TorchMetricsState(safetensorsAt: out)
            #expect(state.vectors == 3_000 && state.step == 3)
            #expect(state.counts.indices.allSatisfy { state.counts[$0] == Self.count($0, step: 3) })
        }
    }
}
