import Foundation
import Testing

/// `density resume --state-out`: the state resumed from, written by the same command that
/// discards the later checkpoints, equal to what `export` reads before the discard; a bad path is
/// refused before anything is discarded.
@Suite struct ResumeStateOutTests {
    @Test func theStateWrittenIsTheOneResumedFromAndTheLaterOnesAreGone() throws {
        try Sandbox.with { box in
            try HistogramCommandTests.record(box)
            for run in ["r", "m"] {
                let before = try HistoryCommandTests.states(box, run)[1]          // step 200
                try box.fails(["resume", run, "--at", "250", "--discard-later", "--state-out", box.path("no/such/folder/s.safetensors")],
                              mentioning: ["no/such/folder"])
                #expect(try box.ok(["resume", run]).hasPrefix("300"), "a refused --state-out discards nothing")
                let out = box.path("\(run).safetensors")
                #expect(try box.ok(["resume", run, "--at", "250", "--discard-later", "--state-out", out]) == "200\n")
                let tensors = try HistoryCommandTests.readSafetensors(out)
                #expect(tensors["neuron_fired_count"]?.values == before.values)
                #expect(tensors["neuron_fired_count"]?.shape == (run == "m" ? [2, 32] : [64]))
                #expect(tensors["num_activation_vectors"]?.values == [before.vectors] && tensors["step"]?.values == [200])
                #expect(try box.ok(["resume", run]).hasPrefix("200"))
            }
        }
    }
}
