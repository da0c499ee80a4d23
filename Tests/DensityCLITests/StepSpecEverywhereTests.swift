import Foundation
import Testing

/// Every step spec (a checkpoint's step, a step between checkpoints, `latest`, `first`, `-K`,
/// and `start` for a window's start) on every command that takes a step, each resolved by the
/// library to the same checkpoint.
@Suite struct StepSpecEverywhereTests {
    static let steps: [Int64] = [10, 20, 35, 50]
    /// A single step as written, and the checkpoint it names among ``steps``.
    static let specs: [(spec: String, step: Int64)] = [
        ("latest", 50), ("first", 10), ("-1", 35), ("-3", 10), ("27", 20), ("35", 35), ("1000", 50),
    ]
    /// A window (A, B] as written, and the checkpoints it names (`nil`: start).
    static let windows: [(from: String, to: String, window: (Int64?, Int64))] = [
        ("start", "latest", (nil, 50)), ("first", "-1", (10, 35)), ("-3", "27", (10, 20)),
        ("27", "latest", (20, 50)), ("-2", "35", (20, 35)), ("start", "first", (nil, 10)),
    ]

    /// The top-level JSON object of a successful command.
    static func json(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(result.status == 0, "expected success: \(result)", sourceLocation: sourceLocation)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(object as? [String: Any], "not an object: \(result.stdout)", sourceLocation: sourceLocation)
    }

    /// A JSON step: a number, or nil for null.
    static func step(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    @Test func singleStepCommandsResolveEverySpec() throws {
        try Sandbox.with { box in
            try box.recordRun("s", steps: Self.steps)
            for (spec, step) in Self.specs {
                for command in [["show", "s", "--step", spec], ["histogram", "s", "--step", spec], ["export", "s", "--step", spec]] {
                    let got = try Self.json(try box.db(command + ["--format", "json"]))
                    #expect(Self.step(got["step"]) == step, "\(command.joined(separator: " ")) should read step \(step)")
                }
                let compared = try Self.json(try box.db(["compare", "s", "s", "--step", spec, "--format", "json"]))
                let runs = try #require(compared["runs"] as? [[String: Any]])
                #expect(runs.map { Self.step($0["step"]) } == [step, step], "compare --step \(spec)")
                let resumed = try box.ok(["resume", "s", "--at", spec])
                #expect(resumed == "\(step)\n", "resume --at \(spec)")
                // state writes the step into the safetensors metadata.
                let out = box.path("state-\(spec).safetensors")
                try box.ok(["state", "s", "--step", spec, "--out", out])
                #expect(try Self.safetensorsMetadata(out)["step"] == String(step), "state --step \(spec)")
            }
            try box.fails(["resume", "s", "--at", "start"], mentioning: ["--at", "start"])
            try box.fails(["resume", "s", "--at", "-4"], mentioning: ["-4", "out of range"])
            try box.fails(["resume", "s", "--at", "9"], mentioning: ["step 9", "first is step 10"])
        }
    }

    @Test func windowCommandsResolveEverySpecInBothSpellings() throws {
        try Sandbox.with { box in
            try box.recordRun("s", steps: Self.steps)
            for (from, to, window) in Self.windows {
                for spelling in [["--from", from, "--to", to], ["--window", "\(from):\(to)"]] {
                    for command in ["diff", "dead", "dense", "histogram", "export"] {
                        let got = try Self.json(try box.db([command, "s"] + spelling + ["--format", "json"]))
                        #expect(Self.step(got["from"]) == window.0 && Self.step(got["to"]) == window.1,
                                "\(command) \(spelling.joined(separator: " ")) should read \(window)")
                    }
                }
                guard from != "start" else { continue }
                // report shows the checkpoints from A to B, both included.
                let report = try box.db(["report", "s", "--from", from, "--to", to, "--out", "-"])
                let first = window.0 ?? Self.steps[0]
                #expect(report.status == 0 && report.stderr.contains("steps \(first) to \(window.1)"),
                        "report --from \(from) --to \(to): \(report)")
            }
        }
    }

    @Test func compactThroughKeepsEveryLaterCheckpoint() throws {
        try Sandbox.with { box in
            // --keep-every too large to keep anything but the first, those after --through, and the latest.
            let cases: [(spec: String, kept: Int)] = [("latest", 2), ("first", 4), ("-1", 2), ("-3", 4), ("27", 3), ("20", 3)]
            for (index, c) in cases.enumerated() {
                let name = "c\(index)"
                try box.recordRun(name, steps: Self.steps)
                try box.ok(["compact", name, "--keep-every", "1000000", "--through", c.spec])
                #expect(try box.runs()[name]?.checkpoints == c.kept, "compact --through \(c.spec)")
            }
            try box.fails(["compact", "c0", "--keep-every", "10", "--through", "start"], mentioning: ["--through", "start"])
            try box.fails(["compact", "c0", "--keep-every", "10", "--through", "-9"], mentioning: ["-9", "out of range"])
        }
    }

    /// The `__metadata__` of a safetensors file.
    static func safetensorsMetadata(_ path: String) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any]
        return header?["__metadata__"] as? [String: String] ?? [:]
    }
}
