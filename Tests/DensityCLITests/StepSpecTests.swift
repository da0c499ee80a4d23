import Testing
import DensityViews

/// How `--step`, `--from` and `--to` resolve: latest, first, -K, a step between checkpoints, start.
@Suite struct StepSpecTests {
    static let steps: [Int64] = [10, 20, 35, 50]

    @Test func showResolvesEverySpelling() throws {
        try Sandbox.with { box in
            let expected = try box.recordRun("s", steps: Self.steps)
            let cases: [(spec: String, step: Int64)] = [
                ("latest", 50), ("last", 50), ("first", 10), ("-1", 35), ("-2", 20), ("-3", 10),
                ("10", 10), ("35", 35), ("27", 20), ("49", 35), ("50", 50), ("1000000", 50), ("LATEST", 50),
            ]
            for (spec, step) in cases {
                let shown = try decode(ShowOutput.self, try box.db(["show", "s", "--step", spec, "--format", "json"]), keys: ShowOutput.keys)
                #expect(shown == (try expected.checkpoint(step).show), "--step \(spec) should resolve to step \(step)")
            }
            // The table says how a step between checkpoints resolved.
            let table = try box.ok(["show", "s", "--step", "27"])
            #expect(table.contains("20") && table.contains("27"), "the table should say 27 resolved to 20:\n\(table)")
        }
    }

    @Test func showRefusesStepsThatNameNoCheckpoint() throws {
        try Sandbox.with { box in
            try box.recordRun("s", steps: Self.steps)
            let before = try box.snapshot(["s"])
            try box.fails(["show", "s", "--step", "9"], mentioning: ["step 9", "first is step 10"])
            try box.fails(["show", "s", "--step", "0"], mentioning: ["step 0"])
            try box.fails(["show", "s", "--step", "-4"], mentioning: ["-4", "4 checkpoint", "-3"])
            try box.fails(["show", "s", "--step", "start"], mentioning: ["--step", "start"])
            try box.fails(["show", "s", "--step", "abc"], mentioning: ["abc", "--step"])
            try box.fails(["show", "s", "--step", "1.5"], mentioning: ["1.5", "--step"])
            #expect(try box.snapshot(["s"]) == before)
        }
    }

    /// A run of one checkpoint has no -K before its latest, and the message says so (not "-0").
    @Test func oneCheckpointRunRefusesOffsetsPlainly() throws {
        try Sandbox.with { box in
            try box.recordRun("one", steps: [10])
            let result = try box.fails(["show", "one", "--step", "-1"], mentioning: ["-1", "one checkpoint", "use latest"])
            #expect(!result.stderr.contains("-0"), "\(result)")
            #expect(try box.ok(["show", "one", "--step", "latest"]).contains("10"))
        }
    }

    @Test func diffResolvesBothEnds() throws {
        try Sandbox.with { box in
            let expected = try box.recordRun("s", steps: Self.steps)
            let cases: [(from: String, to: String?, window: (Int64?, Int64))] = [
                ("start", nil, (nil, 50)), ("start", "27", (nil, 20)), ("start", "first", (nil, 10)),
                ("-1", nil, (35, 50)), ("-1", "latest", (35, 50)), ("first", "-1", (10, 35)),
                ("12", "49", (10, 35)), ("first", "latest", (10, 50)), ("-3", "-2", (10, 20)), ("20", "1000", (20, 50)),
            ]
            for c in cases {
                var args = ["diff", "s", "--from", c.from, "--format", "json"]
                if let to = c.to { args += ["--to", to] }
                let got = try decode(DiffOutput.self, try box.db(args), keys: DiffOutput.keys)
                let want = try expected.diff(from: c.window.0, to: c.window.1)
                #expect(got == want.output, "diff --from \(c.from) --to \(c.to ?? "(default)")")
            }
            // `from` is JSON null (not absent, not 0) for start.
            let raw = try box.ok(["diff", "s", "--from", "start", "--format", "json"])
            #expect(raw.contains(#""from":null"#), "\(raw)")
        }
    }

    @Test func diffRefusesAnEmptyOrReversedWindow() throws {
        try Sandbox.with { box in
            try box.recordRun("s", steps: Self.steps)
            let before = try box.snapshot(["s"])
            try box.fails(["diff", "s", "--from", "35", "--to", "20"], mentioning: ["--from", "--to", "before"])
            try box.fails(["diff", "s", "--from", "35", "--to", "35"], mentioning: ["--from", "--to", "before"])
            try box.fails(["diff", "s", "--from", "latest"], mentioning: ["--from", "--to", "before"])
            try box.fails(["diff", "s", "--from", "36", "--to", "49"], mentioning: ["--from", "--to", "35"])
            try box.fails(["diff", "s", "--from", "first", "--to", "start"], mentioning: ["--to", "start"])
            try box.fails(["diff", "s", "--from", "abc"], mentioning: ["abc", "--from"])
            try box.fails(["diff", "s", "--from", "start", "--to", "x1"], mentioning: ["x1", "--to"])
            #expect(try box.snapshot(["s"]) == before)
        }
    }
}
