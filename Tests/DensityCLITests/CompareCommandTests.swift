import DensityMetric
import Foundation
import Testing

/// `density compare` through the binary: both runs' `show` fields at one step, the median bounds,
/// every format, and every refusal.
@Suite struct CompareCommandTests {
    /// `compare --format json`; each run is `show`'s object plus `median_log10_density`.
    struct Output: Decodable {
        var step: Int64
        var runs: [ShowOutput]
        static let keys: Set = ["step", "runs"]
        // The summary fields of `show` (not its run-level approximate/world_size/pending_steps), and the median.
        static let runKeys = ShowOutput.keys.subtracting(["approximate", "world_size", "pending_steps"]).union(["median_log10_density"])
    }

    /// Run `c` (the crafted run: steps 10…50, 100 vectors each) and run `d` (6 features too:
    /// steps 15, 25, 35, 50 vectors each), `w` (8 features) and `m` (2 components x 3 features).
    static func setUp(_ box: Sandbox) throws {
        try box.recordCraftedRun()
        try box.recordIncrements("d", features: 6, steps: [15, 25, 35], vectors: [50, 50, 50],
                                 increments: [[1, 0, 0, 0, 0, 0], [0, 2, 0, 0, 0, 0], [0, 0, 50, 0, 0, 3]])
        try box.recordIncrements("w", features: 8, steps: [10], vectors: [10], increments: [[Int64](repeating: 1, count: 8)])
        try box.recordIncrements("m", features: 3, components: 2, steps: [10], vectors: [10], increments: [[1, 1, 1, 1, 1, 1]])
        try box.recordIncrements("empty", features: 6, steps: [], vectors: [], increments: [])
    }

    /// `compare` as JSON, with every key checked; also returns the median bounds of each run.
    static func json(_ box: Sandbox, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws
        -> (output: Output, medians: [[Double]?])
    {
        let result = try box.db(["compare"] + arguments + ["--format", "json"])
        let output = try decode(Output.self, result, keys: Output.keys, sourceLocation: sourceLocation)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.count == 2, sourceLocation: sourceLocation)
        for run in runs { #expect(Set(run.keys) == Output.runKeys, "\(run)", sourceLocation: sourceLocation) }
        // JSONDecoder, not JSONSerialization: the latter misreads some doubles on Linux.
        struct Medians: Decodable {
            struct Run: Decodable { var median_log10_density: [Double]? }
            var runs: [Run]
        }
        let medians = try JSONDecoder().decode(Medians.self, from: Data(result.stdout.utf8))
        return (output, medians.runs.map(\.median_log10_density))
    }

    /// `show RUN --step STEP --format json`.
    static func show(_ box: Sandbox, _ run: String, _ step: Int64) throws -> ShowOutput {
        try decode(ShowOutput.self, try box.db(["show", run, "--step", String(step), "--format", "json"]), keys: ShowOutput.keys)
    }

    /// The median bounds by their definition, from known counts: the lower edge of the bin of the
    /// lower middle value, the upper edge of the bin of the upper middle value.
    static func medianBounds(counts: [Int64], vectors: Int64) -> [Double] {
        let bins = counts.map { DensitySummary.bin(ofDensity: Double($0) / Double(vectors), bins: 50) }.sorted()
        return [DensitySummary.binLowerEdge(bins[(bins.count + 1) / 2 - 1], bins: 50),
                DensitySummary.binLowerEdge(bins[bins.count / 2] + 1, bins: 50)]
    }

    @Test func jsonHasShowsFieldsForBothRunsAtOneStep() throws {
        try Sandbox.with { box in
            try Self.setUp(box)
            // Default: the latest step both reached, 35: c at its checkpoint 30, d at 35.
            let (latest, medians) = try Self.json(box, ["c", "d"])
            #expect(latest.step == 35)
            #expect(latest.runs == [try Self.show(box, "c", 30), try Self.show(box, "d", 35)])
            #expect(medians[0] == Self.medianBounds(counts: [0, 7, 150, 9, 4, 3], vectors: 300))
            #expect(medians[1] == Self.medianBounds(counts: [1, 2, 50, 0, 0, 3], vectors: 150))
            #expect(try box.ok(["compare", "c", "d", "--format", "json"]).hasPrefix(#"{"step":35,"runs":[{"run":"c","step":30,"#))

            let cases: [(step: String, at: Int64, c: Int64, d: Int64)] = [
                ("25", 25, 20, 25), ("1000", 1000, 50, 35), ("-1", 40, 40, 35), ("latest", 35, 30, 35), ("16", 16, 10, 15),
            ]
            for c in cases {
                let (output, _) = try Self.json(box, ["c", "d", "--step", c.step])
                #expect(output.step == c.at, "--step \(c.step)")
                #expect(output.runs == [try Self.show(box, "c", c.c), try Self.show(box, "d", c.d)], "--step \(c.step)")
            }
            // The order is the one given; a run against itself works.
            let (swapped, _) = try Self.json(box, ["d", "c", "--step", "25"])
            #expect(swapped.runs.map(\.run) == ["d", "c"])
            let (same, _) = try Self.json(box, ["c", "c"])
            #expect(same.step == 50 && same.runs[0] == same.runs[1])
        }
    }

    @Test func csvAndTable() throws {
        try Sandbox.with { box in
            try Self.setUp(box)
            let csv = try box.ok(["compare", "c", "d", "--format", "csv"])
            let lines = csv.split(separator: "\n").map(String.init)
            #expect(lines.first == "run,step,vectors,features,components,mean_density,dead,dense,non_finite,median_log10_density_low,median_log10_density_high")
            #expect(lines.count == 3, "\(csv)")
            for (line, (run, step)) in zip(lines.dropFirst(), [("c", Int64(30)), ("d", Int64(35))]) {
                let shown = try Self.show(box, run, step)
                let median = Self.medianBounds(counts: run == "c" ? [0, 7, 150, 9, 4, 3] : [1, 2, 50, 0, 0, 3],
                                               vectors: run == "c" ? 300 : 150)
                let fields = [run, String(step), String(shown.vectors), "6", "", "\(shown.mean_density)", String(shown.dead),
                              String(shown.dense), "0", "\(median[0])", "\(median[1])"]
                #expect(line == fields.joined(separator: ","))
            }
            let table = try box.ok(["compare", "c", "d"])
            for text in ["compared at step 35", "latest step both runs have reached", "30 (at or before)", "dead (count 0)",
                         "dense (>= 1e-2)", "mean density", "non-finite", "median log10(d)", "1 (16.6667%)"] {
                #expect(table.contains(text), "the table should say \"\(text)\":\n\(table)")
            }
            let header = table.split(separator: "\n")[1]  // after the heading and a blank line
            #expect(header.split(separator: " ") == ["c", "d"], "\(table)")
            let at = try box.ok(["compare", "c", "d", "--step", "27"])
            #expect(at.contains("compared at step 27") && at.contains("20 (at or before)"), "\(at)")
        }
    }

    @Test func differentWidthsAreRefusedNamingBoth() throws {
        try Sandbox.with { box in
            try Self.setUp(box)
            try box.fails(["compare", "c", "w"], mentioning: ["'c'", "features=6, no components", "'w'", "features=8, no components", "same width"])
            try box.fails(["compare", "m", "c"], mentioning: ["'m'", "components=2, features=3", "'c'", "features=6, no components"])
        }
    }

    @Test func badInputIsRefusedWithAClearMessage() throws {
        try Sandbox.with { box in
            try Self.setUp(box)
            let cases: [(arguments: [String], mentions: [String])] = [
                (["c", "nope"], ["'nope'", "c, d, empty, m, w"]),
                (["nope", "c"], ["'nope'"]),
                (["c"], ["missing", "run2"]),
                (["c", "empty"], ["'empty'", "no checkpoints"]),
                (["c", "d", "--step", "start"], ["--step", "start"]),
                (["c", "d", "--step", "abc"], ["'abc'", "--step"]),
                (["c", "d", "--step", "5"], ["'c'", "step 5"]),
                (["c", "d", "--step", "12"], ["'d'", "step 12"]),
                (["c", "d", "--step", "first"], ["'d'", "step 10"]),
                (["c", "d", "--step", "-5"], ["-5", "out of range"]),
                (["c", "d", "--format", "xml"], ["xml"]),
            ]
            for c in cases {
                try box.fails(["compare"] + c.arguments, mentioning: c.mentions)
            }
        }
    }

    @Test func helpHasExamples() throws {
        try Sandbox.with { box in
            let help = try box.density(["compare", "--help"])
            #expect(help.status == 0, "\(help)")
            let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            for text in ["density compare l1-1e-3 l1-3e-3", "--step", "JSON:", "median_log10_density", "same width"] {
                #expect(words.contains(text), "the help should mention \"\(text)\":\n\(help.stdout)")
            }
        }
    }
}
