@testable import DensityCLI
import Testing

/// The exit statuses scripts rely on (the Python package among them): 3 when the run exists but
/// has no checkpoint yet, 1 for every other failure (a step before the first checkpoint among
/// them: the run has data, the step asked for is wrong), 64 for usage.
@Suite struct ExitStatusTests {
    @Test func aRunWithoutCheckpointsExitsThreeAndSaysSo() throws {
        try Sandbox.with { sandbox in
            try sandbox.ok(["create", "r", "--features", "4"])
            for arguments in [["state", "r", "--out", sandbox.path("s.safetensors")], ["show", "r"],
                              ["trend", "r", "--feature", "0"], ["export", "r", "--out", sandbox.path("e.npy")]] {
                let result = try sandbox.fails(arguments, mentioning: ["no checkpoints yet"])
                #expect(result.status == DensityCommand.noCheckpointExitCode, "\(result)")
            }
        }
    }

    @Test func aStepBeforeTheFirstCheckpointExitsOne() throws {
        try Sandbox.with { sandbox in
            try sandbox.ok(["create", "r", "--features", "2"])
            let state = try Numpy.writeState("s.safetensors", counts: [1, 0], shape: [2], vectors: 1, in: sandbox)
            try sandbox.ok(["checkpoint", "r", "--step", "10", state])
            let result = try sandbox.fails(["state", "r", "--step", "5", "--out", sandbox.path("o.safetensors")],
                                           mentioning: ["no checkpoint at or before step 5"])
            #expect(result.status == 1)
            try sandbox.ok(["state", "r", "--step", "10", "--out", sandbox.path("o.safetensors")])
        }
    }

    @Test func otherFailuresExitOneAndUsageErrorsSixtyFour() throws {
        try Sandbox.with { sandbox in
            let missing = try sandbox.density(["state", "r", "--out", sandbox.path("s.safetensors"),
                                               "--db", sandbox.path("nowhere.sqlite")])
            expectFailure(missing, mentioning: ["no store at"])
            #expect(missing.status == 1)
            try sandbox.ok(["create", "r", "--features", "2"])
            let unknown = try sandbox.fails(["state", "nope", "--out", sandbox.path("s.safetensors")], mentioning: ["no run named 'nope'"])
            #expect(unknown.status == 1)
            let usage = try sandbox.db(["state", "r"])
            #expect(usage.status == 64, "\(usage)")
        }
    }
}
