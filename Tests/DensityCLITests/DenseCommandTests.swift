import Foundation
import Testing

/// `density dense` through the binary: every format on the crafted run of ``DeadCommandTests``
/// (``Sandbox/recordCraftedRun()``), agreement with `diff`, and every refusal.
@Suite struct DenseCommandTests {
    /// `dense --format json`.
    struct Output: Decodable, Equatable {
        struct Feature: Decodable, Equatable {
            var component: Int?
            var feature: Int
            var count: Int64
            var density: Double
        }
        var run: String
        var from: Int64?
        var to: Int64
        var vectors: Int64
        var threshold: Double
        var dense: [Feature]
        static let keys: Set = ["run", "from", "to", "vectors", "threshold", "dense"]
    }

    static func json(_ box: Sandbox, _ arguments: [String], components: Bool = false,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> Output {
        let result = try box.db(["dense"] + arguments + ["--format", "json"])
        let output = try decode(Output.self, result, keys: Output.keys, sourceLocation: sourceLocation)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let keys: Set = components ? ["component", "feature", "count", "density"] : ["feature", "count", "density"]
        for item in try #require(object["dense"] as? [[String: Any]]) {
            #expect(Set(item.keys) == keys, "\(item)", sourceLocation: sourceLocation)
        }
        return output
    }

    static func feature(_ feature: Int, _ count: Int64, _ density: Double, component: Int? = nil) -> Output.Feature {
        .init(component: component, feature: feature, count: count, density: density)
    }

    @Test func jsonListsDenseFeaturesDensestFirst() throws {
        try Sandbox.with { box in
            try box.recordCraftedRun()
            // The whole run: f2 250/500, f3 19/500, f1 7/500, f5 5/500 = 1e-2 exactly (included); f4 4/500 is not.
            let whole = try Self.json(box, ["c"])
            #expect(whole == Output(run: "c", from: nil, to: 50, vectors: 500, threshold: 0.01, dense: [
                Self.feature(2, 250, 0.5), Self.feature(3, 19, 0.038), Self.feature(1, 7, 0.014), Self.feature(5, 5, 0.01),
            ]))
            #expect(try box.ok(["dense", "c", "--format", "json"]).contains(#""from":null"#))
            // (40, 50] at >= 0.1: f2 (0.5) and f3 (exactly 0.1).
            let last = Output(run: "c", from: 40, to: 50, vectors: 100, threshold: 0.1,
                              dense: [Self.feature(2, 50, 0.5), Self.feature(3, 10, 0.1)])
            #expect(try Self.json(box, ["c", "--window", "40:latest", "--threshold", "0.1"]) == last)
            #expect(try Self.json(box, ["c", "--window", "45:55", "--threshold", "0.1"]) == last)
            #expect(try Self.json(box, ["c", "--last-vectors", "100", "--threshold", "0.1"]) == last)
            #expect(try Self.json(box, ["c", "--threshold", "1"]).dense.isEmpty)
            let early = try Self.json(box, ["c", "--window", "start:first"])
            #expect(early.dense == [Self.feature(2, 50, 0.5), Self.feature(1, 7, 0.07), Self.feature(5, 1, 0.01)])
        }
    }

    @Test func csvAndComponents() throws {
        try Sandbox.with { box in
            try box.recordCraftedRun()
            #expect(try box.ok(["dense", "c", "--format", "csv"])
                        == "feature,count,density\n2,250,0.5\n3,19,0.038\n1,7,0.014\n5,5,0.01\n")
            #expect(try box.ok(["dense", "c", "--format", "csv", "--threshold", "0.6"]) == "feature,count,density\n")
            // 2 components x 3 features: c1f0 fires on 4 of 10 vectors, c0f1 on 9, c0f2 on 4.
            try box.recordIncrements("m", features: 3, components: 2, steps: [10], vectors: [10],
                                     increments: [[0, 9, 4, 4, 0, 0]])
            #expect(try box.ok(["dense", "m", "--format", "csv", "--threshold", "0.3"])
                        == "component,feature,count,density\n0,1,9,0.9\n0,2,4,0.4\n1,0,4,0.4\n")
            let output = try Self.json(box, ["m", "--threshold", "0.3"], components: true)
            #expect(output.dense == [Self.feature(1, 9, 0.9, component: 0), Self.feature(2, 4, 0.4, component: 0),
                                     Self.feature(0, 4, 0.4, component: 1)])
            let table = try box.ok(["dense", "m", "--threshold", "0.3"])
            #expect(table.contains("3 of 6 (component, feature) pairs dense") && table.contains("component"), "\(table)")
        }
    }

    @Test func tableSummarizesAndLimits() throws {
        try Sandbox.with { box in
            try box.recordCraftedRun()
            let table = try box.ok(["dense", "c", "--limit", "2"])
            for text in ["run 'c'", "(start, 50]", "whole run", "4 of 6 features dense", "window density >= 0.01",
                         "500 vectors", "2 of 4 shown", "--limit 0"] {
                #expect(table.contains(text), "the table should say \"\(text)\":\n\(table)")
            }
            let rows = table.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            #expect(rows.contains(["2", "250", "0.5"]) && rows.contains(["3", "19", "0.038"]) && !rows.contains(["1", "7", "0.014"]),
                    "\(table)")
            let all = try box.ok(["dense", "c", "--limit", "0", "--window", "-2:-1"])
            #expect(all.contains("(30, 40]") && all.contains("-2 -> step 30") && !all.contains("shown"), "\(all)")
            let none = try box.ok(["dense", "c", "--threshold", "0.9"])
            #expect(none.contains("0 of 6 features dense"), "\(none)")
        }
    }

    /// Against `diff`: the dense features of a window are those at or above the threshold there.
    @Test func agreesWithDiffOnADemoRun() throws {
        try Sandbox.with { box in
            let demo = try box.db(["demo", "--features", "300", "--batch", "64", "--checkpoints", "8", "--every", "10"])
            try #require(demo.status == 0, "\(demo)")
            for (from, to) in [("start", "latest"), ("30", "60"), ("-2", "latest")] {
                let diff = try decode(DiffOutput.self, try box.db(["diff", "demo", "--from", from, "--to", to, "--format", "json"]),
                                      keys: DiffOutput.keys)
                let densities = diff.density.flattened
                for threshold in [1e-2, 0.05] {
                    let dense = try Self.json(box, ["demo", "--window", "\(from):\(to)", "--threshold", "\(threshold)"])
                    #expect(dense.from == diff.from && dense.to == diff.to && dense.vectors == diff.vectors)
                    let expected = densities.indices.filter { densities[$0] >= threshold }
                        .sorted { densities[$0] != densities[$1] ? densities[$0] > densities[$1] : $0 < $1 }
                    #expect(dense.dense.map(\.feature) == expected, "window \(from):\(to), threshold \(threshold)")
                    #expect(dense.dense.map(\.density) == expected.map { densities[$0] })
                }
            }
        }
    }

    @Test func badInputIsRefusedWithAClearMessage() throws {
        try Sandbox.with { box in
            try box.recordCraftedRun()
            try box.recordIncrements("z", features: 2, steps: [10, 20], vectors: [5, 0], increments: [[1, 0], [0, 0]])
            let cases: [(arguments: [String], mentions: [String])] = [
                (["nope"], ["'nope'", "c, z"]),
                (["c", "--window", "5"], ["'5'", "--window", "A:B"]),
                (["c", "--window", "a:b"], ["'a:b'", "--window"]),
                (["c", "--window", "30:30"], ["--window 30:30", "A must be before B"]),
                (["c", "--window", "50:10"], ["before"]),
                (["c", "--window", "5:20"], ["step 5", "first is step 10"]),
                (["z", "--window", "10:latest"], ["no activation vectors"]),
                (["c", "--threshold", "0"], ["--threshold", "(0, 1]"]),
                (["c", "--threshold", "1.01"], ["--threshold", "(0, 1]"]),
                (["c", "--threshold", "-1"], ["--threshold", "(0, 1]"]),
                (["c", "--threshold", "abc"], ["'abc'", "--threshold"]),
                (["c", "--last-vectors", "-3"], ["--last-vectors", "positive"]),
                (["c", "--last-vectors", "1000"], ["500 vectors", "1000"]),
                (["c", "--window", "start:latest", "--last-vectors", "5"], ["not both"]),
                (["c", "--limit", "-2"], ["--limit"]),
            ]
            for c in cases {
                try box.fails(["dense"] + c.arguments, mentioning: c.mentions)
            }
        }
    }

    @Test func helpHasExamples() throws {
        try Sandbox.with { box in
            let help = try box.density(["dense", "--help"])
            #expect(help.status == 0, "\(help)")
            let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            for text in ["density dense demo", "--window", "--last-vectors", "--threshold", "JSON:", "CSV:"] {
                #expect(words.contains(text), "the help should mention \"\(text)\":\n\(help.stdout)")
            }
        }
    }
}
