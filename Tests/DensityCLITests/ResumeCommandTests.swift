import Testing

/// `density resume`: the step on stdout, and `--discard-later`.
@Suite struct ResumeCommandTests {
    static let steps: [Int64] = [10, 20, 35, 50]

    @Test func printsTheResumeStepAndKeepsLaterCheckpoints() throws {
        try Sandbox.with { box in
            try box.recordRun("r", steps: Self.steps)
            let before = try box.snapshot(["r"])
            for (at, step) in [(nil, 50), ("50", 50), ("49", 35), ("27", 20), ("10", 10), ("1000", 50)] as [(String?, Int64)] {
                let result = try box.db(["resume", "r"] + (at.map { ["--at", $0] } ?? []))
                try #require(result.status == 0, "\(result)")
                #expect(result.stdout == "\(step)\n", "resume --at \(at ?? "(none)") prints only the step")
                if step < 50 {
                    #expect(result.stderr.contains("--discard-later"), "stderr should say later checkpoints were kept: \(result)")
                }
            }
            #expect(try box.snapshot(["r"]) == before, "resume without --discard-later must not delete anything")
            #expect(try box.runs()["r"]?.checkpoints == 4)
        }
    }

    @Test func discardLaterDeletesLaterCheckpointsSoTheyCanBeRecordedAgain() throws {
        try Sandbox.with { box in
            let expected = try box.recordRun("r", steps: Self.steps)
            let result = try box.db(["resume", "r", "--at", "27", "--discard-later"])
            try #require(result.status == 0, "\(result)")
            #expect(result.stdout == "20\n")
            #expect(result.stderr.contains("2"), "stderr should count the 2 discarded checkpoints: \(result)")

            let at20 = try expected.checkpoint(20)
            #expect(try box.runs()["r"] == RunRow(name: "r", features: 16, components: nil, checkpoints: 2, latest_step: 20,
                                                   vectors: at20.vectors))
            let shown = try decode(ShowOutput.self, try box.db(["show", "r", "--format", "json"]), keys: ShowOutput.keys)
            #expect(shown == at20.show)
            try box.fails(["show", "r", "--step", "-2"], mentioning: ["-2"])

            // Step 20 is still taken; 30 (before the discarded 35 and 50) is free again, and it
            // continues from the counts at 20: compare with numpy over the same files.
            let retry = try box.npy("retry.npy", "np.random.default_rng(9).standard_normal((13, 16)).astype(np.float32)")
            try box.fails(["ingest", "r", "--step", "20", retry], mentioning: ["step 20", "latest"])
            try box.ok(["ingest", "r", "--step", "30", retry])
            let files = (expected.checkpoints.prefix(2).flatMap(\.files) + [retry])
            let counts = try Numpy.counts(of: files, in: box)
            let window = try decode(DiffOutput.self, try box.db(["diff", "r", "--from", "start", "--format", "json"]), keys: DiffOutput.keys)
            #expect(window.to == 30 && window.vectors == at20.vectors + 13)
            #expect(window.density.flattened == counts.map { Double($0) / Double(at20.vectors + 13) })
            #expect(try box.runs()["r"]?.checkpoints == 3)
        }
    }

    @Test func discardLaterAtTheLatestDiscardsNothing() throws {
        try Sandbox.with { box in
            try box.recordRun("r", steps: Self.steps)
            let before = try box.snapshot(["r"])
            let result = try box.db(["resume", "r", "--discard-later"])
            #expect(result.status == 0 && result.stdout == "50\n", "\(result)")
            #expect(try box.snapshot(["r"]) == before)
        }
    }

    @Test func refusesAStepBeforeTheFirstCheckpointAndARunWithNone() throws {
        try Sandbox.with { box in
            try box.recordRun("r", steps: Self.steps)
            try box.ok(["create", "empty", "--features", "4"])
            let before = try box.snapshot(["r", "empty"])
            try box.fails(["resume", "r", "--at", "5", "--discard-later"], mentioning: ["'r'", "step 5"])
            try box.fails(["resume", "r", "--at", "5"], mentioning: ["'r'", "step 5"])
            try box.fails(["resume", "empty"], mentioning: ["'empty'", "no checkpoints"])
            try box.fails(["resume", "nope"], mentioning: ["'nope'", "r", "empty"])
            #expect(try box.snapshot(["r", "empty"]) == before)
        }
    }
}
