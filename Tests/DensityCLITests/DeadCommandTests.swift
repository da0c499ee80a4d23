import DensityMetric
import DensityStore
import Foundation
import Testing

/// `density dead` through the binary: every format on a run crafted so the answers are known, the
/// window options, and every refusal.
@Suite struct DeadCommandTests {
    /// `dead --format json` (and its revived list).
    struct Output: Decodable, Equatable {
        struct Feature: Decodable, Equatable {
            var component: Int?
            var feature: Int
            var last_fired_step: Int64?
        }
        var run: String
        var from: Int64?
        var to: Int64
        var vectors: Int64
        var threshold: Double?
        var dead: [Feature]
        var revived: [Feature]?
        static let keys: Set = ["run", "from", "to", "vectors", "threshold", "dead", "revived"]
    }

    static func feature(_ feature: Int, _ last: Int64?, component: Int? = nil) -> Output.Feature {
        .init(component: component, feature: feature, last_fired_step: last)
    }

    /// `dead` with `arguments` as JSON: the top-level keys, and each listed feature's keys.
    static func json(_ box: Sandbox, _ arguments: [String], components: Bool = false,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> Output {
        let result = try box.db(["dead"] + arguments + ["--format", "json"])
        let output = try decode(Output.self, result, keys: Output.keys, sourceLocation: sourceLocation)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let lists = [object["dead"], object["revived"]].compactMap { $0 as? [[String: Any]] }
        let featureKeys: Set = components ? ["component", "feature", "last_fired_step"] : ["feature", "last_fired_step"]
        for item in lists.joined() {
            #expect(Set(item.keys) == featureKeys, "\(item)", sourceLocation: sourceLocation)
        }
        return output
    }

    @Test func jsonListsDeadFeaturesWithTheirLastFiringAndTheRevived() throws {
        try Sandbox.with { box in
            try box.recordCraftedRun()
            // The whole run (default): only f0 never fired; no window before it.
            let whole = try Self.json(box, ["c"])
            #expect(whole == Output(run: "c", from: nil, to: 50, vectors: 500, threshold: nil,
                                    dead: [Self.feature(0, nil)], revived: nil))
            #expect(try box.ok(["dead", "c", "--format", "json"]).contains(#""from":null"#))
            #expect(try box.ok(["dead", "c", "--format", "json"]).contains(#""revived":null"#))

            // (40, 50] after (30, 40]: f3 revived (last fired at 50).
            let last = Output(run: "c", from: 40, to: 50, vectors: 100, threshold: nil,
                              dead: [Self.feature(0, nil), Self.feature(1, 10), Self.feature(4, 30)],
                              revived: [Self.feature(3, 50)])
            #expect(try Self.json(box, ["c", "--window", "40:latest"]) == last)
            #expect(try Self.json(box, ["c", "--window", "-1:50"]) == last)
            #expect(try Self.json(box, ["c", "--window", "45:59"]) == last, "steps between checkpoints resolve down")
            #expect(try Self.json(box, ["c", "--last-vectors", "100"]) == last)
            #expect(try Self.json(box, ["c", "--last-vectors", "1"]) == last)

            // (20, 40] after (start, 20]: f3 last fired at 20 as of step 40; f4 revived.
            #expect(try Self.json(box, ["c", "--window", "20:40"]) == Output(
                run: "c", from: 20, to: 40, vectors: 200, threshold: nil,
                dead: [Self.feature(0, nil), Self.feature(1, 10), Self.feature(3, 20)], revived: [Self.feature(4, 30)]))
            // --last-vectors 101 needs two intervals: (30, 50].
            let two = try Self.json(box, ["c", "--last-vectors", "101"])
            #expect(two.from == 30 && two.to == 50 && two.vectors == 200)

            // Density < 0.05: f5 (1 in 100) is dead too.
            let sparse = try Self.json(box, ["c", "--window", "40:latest", "--threshold", "0.05"])
            #expect(sparse.threshold == 0.05)
            #expect(sparse.dead == last.dead + [Self.feature(5, 50)])
            #expect(sparse.revived == [Self.feature(3, 50)])
            // start:B is the same as no A.
            #expect(try Self.json(box, ["c", "--window", "start:latest"]) == whole)
        }
    }

    @Test func componentsAreListedOnlyForRunsWithComponents() throws {
        try Sandbox.with { box in
            // 2 components x 3 features, flat [c0f0, c0f1, c0f2, c1f0, c1f1, c1f2].
            try box.recordIncrements("m", features: 3, components: 2, steps: [10, 20], vectors: [10, 10],
                                     increments: [[0, 5, 0, 1, 0, 0], [0, 0, 3, 0, 0, 2]])
            let output = try Self.json(box, ["m", "--window", "10:20"], components: true)
            #expect(output.dead == [Self.feature(0, nil, component: 0), Self.feature(1, 10, component: 0),
                                    Self.feature(0, 10, component: 1), Self.feature(1, nil, component: 1)])
            #expect(output.revived == [Self.feature(2, 20, component: 0), Self.feature(2, 20, component: 1)])
            #expect(try box.ok(["dead", "m", "--window", "10:20", "--format", "csv"])
                        == "component,feature,last_fired_step\n0,0,\n0,1,10\n1,0,10\n1,1,\n")
            let table = try box.ok(["dead", "m", "--window", "10:20"])
            #expect(table.contains("4 of 6 (component, feature) pairs dead"), "\(table)")
            #expect(table.contains("component"), "\(table)")
        }
    }

    @Test func csvListsEveryDeadFeature() throws {
        try Sandbox.with { box in
            try box.recordCraftedRun()
            #expect(try box.ok(["dead", "c", "--window", "40:latest", "--format", "csv"])
                        == "feature,last_fired_step\n0,\n1,10\n4,30\n")
            // json and csv ignore --limit.
            #expect(try box.ok(["dead", "c", "--window", "40:latest", "--format", "csv", "--limit", "1"])
                        == "feature,last_fired_step\n0,\n1,10\n4,30\n")
            #expect(try Self.json(box, ["c", "--window", "40:latest", "--limit", "1"]).dead.count == 3)
            #expect(try box.ok(["dead", "c", "--format", "csv"]) == "feature,last_fired_step\n0,\n")
        }
    }

    @Test func tableSummarizesSaysWhichStepsAndLimits() throws {
        try Sandbox.with { box in
            try box.recordCraftedRun()
            let table = try box.ok(["dead", "c", "--window", "45:latest", "--limit", "1"])
            for text in ["run 'c'", "(40, 50]", "45 -> step 40", "latest -> step 50", "3 of 6 features dead",
                         "100 vectors", "never", "1 of 3 shown", "--limit 0", "1 of 6 features revived: dead in (30, 40]"] {
                #expect(table.contains(text), "the table should say \"\(text)\":\n\(table)")
            }
            let limited = table.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            #expect(limited.contains(["0", "never"]) && !limited.contains(["1", "10"]) && limited.contains(["3", "50"]),
                    "--limit 1 shows one feature of each list:\n\(table)")
            let all = try box.ok(["dead", "c", "--window", "40:latest", "--limit", "0"])
            #expect(!all.contains("shown"), "\(all)")
            let rows = all.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            #expect(rows.contains(["0", "never"]) && rows.contains(["1", "10"]) && rows.contains(["4", "30"])
                        && rows.contains(["3", "50"]), "\(all)")
            let whole = try box.ok(["dead", "c"])
            #expect(whole.contains("(start, 50]") && whole.contains("1 of 6 features dead") && whole.contains("whole run"), "\(whole)")
            let threshold = try box.ok(["dead", "c", "--last-vectors", "100", "--threshold", "0.05"])
            #expect(threshold.contains("window density < 0.05") && threshold.contains(">= 100 vectors"), "\(threshold)")
        }
    }

    /// Against `diff`: the dead features of a window are exactly those of count 0 there.
    @Test func agreesWithDiffOnADemoRun() throws {
        try Sandbox.with { box in
            let demo = try box.db(["demo", "--features", "300", "--batch", "64", "--checkpoints", "8", "--every", "10"])
            try #require(demo.status == 0, "\(demo)")
            for (from, to) in [("start", "latest"), ("30", "60"), ("-3", "latest"), ("first", "-1")] {
                let diff = try decode(DiffOutput.self, try box.db(["diff", "demo", "--from", from, "--to", to, "--format", "json"]),
                                      keys: DiffOutput.keys)
                let dead = try Self.json(box, ["demo", "--window", "\(from):\(to)"])
                #expect(dead.from == diff.from && dead.to == diff.to && dead.vectors == diff.vectors)
                let densities = diff.density.flattened
                #expect(dead.dead.map(\.feature) == densities.indices.filter { densities[$0] == 0 }, "window \(from):\(to)")
                let sparse = try Self.json(box, ["demo", "--window", "\(from):\(to)", "--threshold", "1e-2"])
                #expect(sparse.dead.map(\.feature) == densities.indices.filter { densities[$0] < 1e-2 }, "window \(from):\(to)")
            }
        }
    }

    @Test func badInputIsRefusedWithAClearMessage() throws {
        try Sandbox.with { box in
            try box.recordCraftedRun()
            try box.recordIncrements("z", features: 2, steps: [10, 20], vectors: [5, 0], increments: [[1, 0], [0, 0]])
            try box.recordIncrements("empty", features: 2, steps: [], vectors: [], increments: [])
            let cases: [(arguments: [String], mentions: [String])] = [
                (["nope"], ["'nope'", "c, empty, z"]),
                (["empty"], ["'empty'", "no checkpoints"]),
                (["c", "--window", "5"], ["'5'", "--window", "A:B"]),
                (["c", "--window", "a:b"], ["'a:b'", "--window", "'a'"]),
                (["c", "--window", "10:b"], ["--window", "'b'"]),
                (["c", "--window", "1:2:3"], ["--window", "A:B"]),
                (["c", "--window", ":"], ["--window"]),
                (["c", "--window", "40:20"], ["--window 40:20", "A must be before B"]),
                (["c", "--window", "41:45"], ["--window 41:45", "before", "40"]),
                (["c", "--window", "latest:first"], ["before", "latest -> step 50"]),
                (["c", "--window", "latest:start"], ["--window", "B cannot be start"]),
                (["c", "--window", "5:latest"], ["step 5", "first is step 10"]),
                (["c", "--window", "-9:latest"], ["-9", "out of range"]),
                (["z", "--window", "10:20"], ["no activation vectors", "(10, 20]"]),
                (["c", "--threshold", "0"], ["--threshold", "(0, 1]"]),
                (["c", "--threshold", "1.5"], ["--threshold", "(0, 1]"]),
                (["c", "--threshold", "-0.1"], ["--threshold", "(0, 1]"]),
                (["c", "--threshold", "nan"], ["--threshold", "(0, 1]"]),
                (["c", "--threshold", "x"], ["'x'", "--threshold"]),
                (["c", "--last-vectors", "0"], ["--last-vectors", "positive"]),
                (["c", "--last-vectors", "501"], ["500 vectors", "501"]),
                (["c", "--window", "10:20", "--last-vectors", "5"], ["--window", "--last-vectors", "not both"]),
                (["c", "--limit", "-1"], ["--limit"]),
                (["c", "--format", "xml"], ["xml"]),
            ]
            for c in cases {
                try box.fails(["dead"] + c.arguments, mentioning: c.mentions)
            }
            let absent = try box.density(["dead", "c", "--db", box.path("absent.sqlite")])
            expectFailure(absent, mentioning: ["no store"])
        }
    }

    @Test func helpHasExamples() throws {
        try Sandbox.with { box in
            let help = try box.density(["dead", "--help"])
            #expect(help.status == 0, "\(help)")
            let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            for text in ["density dead demo", "--window", "--last-vectors", "--threshold", "--limit", "JSON:", "CSV:",
                         "\"component\" key is present only for runs with components"] {
                #expect(words.contains(text), "the help should mention \"\(text)\":\n\(help.stdout)")
            }
            #expect(box.listing() == [], "--help must not create a store")
        }
    }
}

// MARK: - Runs written through the store library

extension Sandbox {
    /// Writes run `name` into ``db`` through the store library: at each of `steps`, the cumulative
    /// counts grown by `increments[k]` (flat, component-major) and the vectors by `vectors[k]`.
    func recordIncrements(_ name: String, features: Int, components: Int? = nil, steps: [Int64], vectors: [Int64],
                          increments: [[Int64]]) throws {
        let store = try DensityStore(path: db)
        try store.createRun(name: name, features: features, components: components, chunkFeatures: 4, keyframeInterval: 2)
        var counts = [Int64](repeating: 0, count: (components ?? 1) * features)
        var total: Int64 = 0
        for ((step, added), increment) in zip(zip(steps, vectors), increments) {
            total += added
            for i in counts.indices { counts[i] += increment[i] }
            try store.appendCheckpoint(run: name, step: step, state: DensityState(
                features: features, components: components, counts: counts, vectors: total))
        }
    }

    /// Run `c`: 6 features, checkpoints 10, 20, 30, 40, 50 of 100 vectors each. Per interval: f0
    /// never fires; f1 fires 7 times in (0, 10] only; f2 50 times in each; f3 9 times in (10, 20]
    /// and 10 in (40, 50]; f4 4 times in (20, 30] only; f5 once in each.
    func recordCraftedRun() throws {
        try recordIncrements("c", features: 6, steps: [10, 20, 30, 40, 50], vectors: [100, 100, 100, 100, 100],
                             increments: [[0, 7, 50, 0, 0, 1], [0, 0, 50, 9, 0, 1], [0, 0, 50, 0, 4, 1],
                                          [0, 0, 50, 0, 0, 1], [0, 0, 50, 10, 0, 1]])
    }
}
