import DensityMetric
import DensityStore
import Foundation
import Testing

/// `density histogram` through the binary: one histogram equals a naive per-feature binning of the
/// densities `export` writes; over training equals the stored summaries, without decoding counts;
/// every bad input is refused with a message and nothing on stdout.
@Suite struct HistogramCommandTests {
    /// `histogram --format json` of one state.
    struct Histogram: Decodable {
        struct Bin: Decodable {
            var low: Double
            var high: Double
            var count: Int
        }
        var run: String
        var step: Int64?
        var from: Int64?
        var to: Int64?
        var vectors: Int64
        var bins: [Bin]
        static let stepKeys: Set = ["run", "step", "vectors", "bins"]
        static let windowKeys: Set = ["run", "from", "to", "vectors", "bins"]
    }

    /// `histogram --over-training --format json`.
    struct OverTraining: Decodable {
        struct Row: Decodable, Equatable {
            var step: Int64
            var vectors: Int64
            var counts: [Int]
        }
        var run: String
        var edges: [Double]
        var steps: [Row]
        static let keys: Set = ["run", "edges", "steps"]
    }

    /// `export --format json --what density`.
    struct Exported: Decodable {
        var vectors: Int64
        var values: [Double]
    }

    /// The bin of each density, computed the plain way: one logarithm per feature.
    static func naiveHistogram(_ densities: [Double], bins: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: bins)
        for density in densities {
            let position = (log10(density + 1e-10) + 10) / 10 * Double(bins)
            counts[min(bins - 1, max(0, Int(position.rounded(.down))))] += 1
        }
        return counts
    }

    /// Runs `r` (64 features) and `m` (2 components x 32 features), three checkpoints each, with
    /// densities from 0 (dead) through 1e-3 to 1 (always fires).
    static func record(_ box: Sandbox) throws {
        try box.ok(["create", "r", "--features", "64"])
        try box.ok(["create", "m", "--features", "32", "--components", "2"])
        for (index, step) in [100, 200, 300].enumerated() {
            for (run, shape) in [("r", "(n, 64)"), ("m", "(n, 2, 32)")] {
                let file = try box.npy("\(run)\(step).npy", """
                    None
                    rng = np.random.default_rng(\(index * 7 + run.count))
                    n = \(1500 + 500 * index)
                    a = rng.standard_normal(\(shape)).astype(np.float32)
                    flat = a.reshape(n, -1)
                    w = flat.shape[1]
                    flat[:, :4] = 0                                   # dead
                    flat[:, 4] = 1                                    # fires on every vector
                    rates = np.logspace(-3.5, -0.2, w - 5)            # the others: 3e-4 ... 0.6
                    flat[:, 5:] = np.where(rng.random((n, w - 5)) < rates, 1.0, -1.0)
                    """)
                try box.ok(["ingest", run, "--step", String(step), file])
            }
        }
    }

    @Test func countsEqualANaiveBinningOfTheExportedDensities() throws {
        try Sandbox.with { box in
            try Self.record(box)
            let selections: [[String]] = [
                [], ["--step", "latest"], ["--step", "first"], ["--step", "250"], ["--step", "-1"],
                ["--from", "first", "--to", "latest"], ["--from", "start", "--to", "200"], ["--from", "-1"],
                ["--from", "100", "--to", "200"],
            ]
            for run in ["r", "m"] {
                for selection in selections {
                    let exported = try JSONDecoder().decode(Exported.self, from: Data(try {
                        let out = box.path("export.json")
                        try box.ok(["export", run, "--format", "json", "--out", out, "--force"] + selection)
                        return try Data(contentsOf: URL(fileURLWithPath: out))
                    }()))
                    #expect(exported.values.count == 64)
                    #expect(exported.values.contains(0) && exported.values.contains(1), "the run should have dead and saturated features")
                    for bins in [nil, 1, 3, 7, 10, 50, 200] {
                        let arguments = ["histogram", run, "--format", "json"] + selection + (bins.map { ["--bins", String($0)] } ?? [])
                        let isWindow = selection.contains("--from")
                        let histogram = try decode(Histogram.self, try box.db(arguments),
                                                   keys: isWindow ? Histogram.windowKeys : Histogram.stepKeys)
                        let n = bins ?? 20
                        let label = "\(arguments.joined(separator: " "))"
                        #expect(histogram.bins.map(\.count) == Self.naiveHistogram(exported.values, bins: n), "\(label)")
                        #expect(histogram.vectors == exported.vectors, "\(label)")
                        #expect(histogram.bins.count == n && histogram.bins.first?.low == -10 && histogram.bins.last?.high == 0, "\(label)")
                        for (index, bin) in histogram.bins.enumerated() {
                            #expect(abs(bin.low - (-10 + 10 * Double(index) / Double(n))) < 1e-12, "\(label)")
                            if index > 0 { #expect(bin.low == histogram.bins[index - 1].high, "\(label)") }
                        }
                    }
                }
            }
        }
    }

    @Test func stepsAndWindowsAreTheResolvedCheckpoints() throws {
        try Sandbox.with { box in
            try Self.record(box)
            let cases: [(arguments: [String], step: Int64?, from: Int64?, to: Int64?)] = [
                ([], 300, nil, nil), (["--step", "250"], 200, nil, nil), (["--step", "-2"], 100, nil, nil),
                (["--from", "start", "--to", "200"], nil, nil, 200), (["--from", "150"], nil, 100, 300),
                (["--from", "-2", "--to", "-1"], nil, 100, 200),
            ]
            for c in cases {
                let isWindow = c.arguments.contains("--from")
                let histogram = try decode(Histogram.self, try box.db(["histogram", "r", "--format", "json"] + c.arguments),
                                           keys: isWindow ? Histogram.windowKeys : Histogram.stepKeys)
                #expect(histogram.run == "r" && histogram.step == c.step && histogram.from == c.from && histogram.to == c.to,
                        "\(c.arguments)")
                #expect(histogram.bins.map(\.count).reduce(0, +) == 64)
            }
        }
    }

    @Test func tableAndCSVShowTheSameCounts() throws {
        try Sandbox.with { box in
            try Self.record(box)
            for arguments in [["--bins", "10"], ["--from", "first", "--bins", "7"], []] {
                let json = try decode(Histogram.self, try box.db(["histogram", "m", "--format", "json"] + arguments),
                                      keys: arguments.contains("--from") ? Histogram.windowKeys : Histogram.stepKeys)
                let csv = try box.ok(["histogram", "m", "--format", "csv"] + arguments)
                let lines = csv.split(separator: "\n").map(String.init)
                #expect(lines.first == "low,high,count")
                #expect(lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
                    == json.bins.map { ["\($0.low)", "\($0.high)", String($0.count)] })

                let table = try box.ok(["histogram", "m"] + arguments)
                let rows = table.split(separator: "\n").filter { $0.hasPrefix("[") }.map(String.init)
                try #require(rows.count == json.bins.count, "one row per bin:\n\(table)")
                #expect(rows[0].contains("dead"), "the first bin is labelled dead:\n\(table)")
                #expect(rows.dropFirst().allSatisfy { !$0.contains("dead") })
                #expect(rows.last?.hasPrefix("[-") == true && rows.last?.contains(", 0]") == true, "the last bin is closed at 0:\n\(table)")
                let largest = json.bins.map(\.count).max() ?? 0
                for (row, bin) in zip(rows, json.bins) {
                    let cells = row.split(separator: " ")
                    #expect(cells.contains(Substring(String(bin.count))), "\(row)")
                    let blocks = row.filter { $0 == "█" }.count
                    if bin.count == largest { #expect(blocks == 50, "the largest bin has the full bar: \(row)") }
                    if bin.count == 0 { #expect(!row.contains("█") && !row.contains("▏"), "an empty bin has no bar: \(row)") }
                    if bin.count > 0 { #expect(row.contains(where: { "█▏▎▍▌▋▊▉".contains($0) }), "a non-empty bin has a bar: \(row)") }
                }
                #expect(table.contains("x 2 components"), "\(table)")
                #expect(table.contains("dead (count 0"), "\(table)")
            }
        }
    }

    // MARK: - Over training

    /// The stored 50-bin histograms, merged into `bins` as the command must.
    static func stored(_ box: Sandbox, run: String, bins: Int) throws -> [OverTraining.Row] {
        let store = try DensityStore(path: box.db, readOnly: true)
        return try store.read { try $0.summaries(run: run) }.map { checkpoint, summary in
            let group = summary.histogram.count / bins
            return OverTraining.Row(step: checkpoint.step, vectors: summary.vectors,
                                    counts: (0..<bins).map { summary.histogram[($0 * group)..<(($0 + 1) * group)].reduce(0, +) })
        }
    }

    @Test func overTrainingEqualsTheStoredSummaries() throws {
        try Sandbox.with { box in
            try box.ok(["demo", "--features", "96", "--batch", "16", "--checkpoints", "40", "--every", "10"])
            for bins in [nil, 1, 2, 5, 10, 25, 50] {
                let arguments = ["histogram", "demo", "--over-training"] + (bins.map { ["--bins", String($0)] } ?? [])
                let n = bins ?? 10
                let expected = try Self.stored(box, run: "demo", bins: n)
                #expect(expected.count == 40)
                let json = try decode(OverTraining.self, try box.db(arguments + ["--format", "json"]), keys: OverTraining.keys)
                #expect(json.run == "demo")
                #expect(json.steps == expected, "\(arguments)")
                #expect(json.edges.count == n + 1 && json.edges.first == -10 && json.edges.last == 0)
                for (index, edge) in json.edges.enumerated() {
                    #expect(abs(edge - (-10 + 10 * Double(index) / Double(n))) < 1e-12)
                }
                #expect(json.steps.allSatisfy { $0.counts.reduce(0, +) == 96 })

                let csv = try box.ok(arguments + ["--format", "csv"]).split(separator: "\n")
                #expect(csv.count == 41, "a header and every checkpoint")
                #expect(csv.first?.hasPrefix("step,vectors,") == true)
                let csvRows: [String] = expected.map { row in
                    let cells: [String] = [String(row.step), String(row.vectors)] + row.counts.map { String($0) }
                    return cells.joined(separator: ",")
                }
                #expect(csv.dropFirst().map(String.init) == csvRows)

                let table = try box.ok(arguments)
                let rows = table.split(separator: "\n").filter { $0.first?.isNumber == true }
                    .map { $0.split(separator: " ").map(String.init) }
                #expect(rows.count == 30, "the table is thinned to 30 rows:\n\(table)")
                #expect(rows.first?.first == String(expected.first!.step) && rows.last?.first == String(expected.last!.step))
                let byStep = Dictionary(uniqueKeysWithValues: expected.map { (String($0.step), $0) })
                for row in rows {
                    let want = try #require(byStep[row[0]], "a row for a step that is not a checkpoint: \(row)")
                    #expect(row == [String(want.step), String(want.vectors)] + want.counts.map(String.init))
                }
                #expect(table.contains("(30 of 40 checkpoints"), "\(table)")
                // The same arguments give the same rows: thinning is deterministic.
                #expect(try box.ok(arguments) == table)
            }
        }
    }

    @Test func aShortHistoryIsNotThinned() throws {
        try Sandbox.with { box in
            try box.ok(["demo", "--features", "32", "--batch", "8", "--checkpoints", "30"])
            let table = try box.ok(["histogram", "demo", "--over-training", "--bins", "5"])
            #expect(table.split(separator: "\n").filter { $0.first?.isNumber == true }.count == 30)
            #expect(!table.contains(" of 30 checkpoints"), "\(table)")
        }
    }

    /// Damaged count blobs do not stop --over-training (it reads only the stored summaries), while
    /// one histogram, which decodes the counts, names the damage.
    @Test func overTrainingDecodesNoCounts() throws {
        try Sandbox.with { box in
            try box.ok(["demo", "--features", "64", "--batch", "16", "--checkpoints", "6"])
            let before = try box.ok(["histogram", "demo", "--over-training", "--format", "json"])
            _ = try Numpy.run("import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.execute('UPDATE chunks SET data = zeroblob(8)')\ndb.commit()\n",
                              [box.db], in: box)
            #expect(try box.ok(["histogram", "demo", "--over-training", "--format", "json"]) == before)
            try box.fails(["histogram", "demo"], mentioning: ["damaged"])
        }
    }

    // MARK: - Bad input

    @Test func badInputIsRefusedWithAMessage() throws {
        try Sandbox.with { box in
            try Self.record(box)
            try box.ok(["create", "new", "--features", "4"])
            let cases: [(arguments: [String], mentions: [String])] = [
                (["nope"], ["'nope'", "r"]),
                (["nope", "--over-training"], ["'nope'"]),
                (["new"], ["'new'", "no checkpoints"]),
                (["new", "--over-training"], ["'new'", "no checkpoints"]),
                (["r", "--step", "abc"], ["--step", "abc"]),
                (["r", "--step", "start"], ["--step start"]),
                (["r", "--step", "99"], ["99", "first is step 100"]),
                (["r", "--step", "-3"], ["-3", "out of range"]),
                (["r", "--from", "x1"], ["--from", "x1"]),
                (["r", "--from", "first", "--to", "start"], ["--to start"]),
                (["r", "--from", "latest", "--to", "first"], ["--from", "must be before", "--to"]),
                (["r", "--from", "200", "--to", "250"], ["must be before"]),
                (["r", "--to", "200"], ["--to needs --from"]),
                (["r", "--step", "200", "--from", "100"], ["--step", "--from"]),
                (["r", "--bins", "0"], ["--bins", "1 and 200"]),
                (["r", "--bins", "201"], ["--bins", "201"]),
                (["r", "--bins", "-4"], ["--bins", "got -4"]),
                (["r", "--bins", "ten"], ["--bins", "ten"]),
                (["r", "--over-training", "--bins", "20"], ["--bins 20", "divide", "50"]),
                (["r", "--over-training", "--bins", "3"], ["--bins 3", "1, 2, 5, 10, 25 or 50"]),
                (["r", "--over-training", "--bins", "0"], ["--bins 0"]),
                (["r", "--over-training", "--bins", "100"], ["--bins 100"]),
                (["r", "--over-training", "--step", "200"], ["--over-training", "--step"]),
                (["r", "--over-training", "--from", "first"], ["--over-training", "--from"]),
                (["r", "--format", "xml"], ["--format", "xml"]),
            ]
            for c in cases {
                try box.fails(["histogram"] + c.arguments, mentioning: c.mentions)
            }
        }
    }

    @Test func statesWithNoVectorsAreRefused() throws {
        try Sandbox.with { box in
            do {
                let store = try DensityStore(path: box.db)
                try store.createRun(name: "flat", features: 4)
                let state = try DensityState(features: 4, components: nil, counts: [0, 1, 2, 3], vectors: 3)
                try store.appendCheckpoint(run: "flat", step: 10, state: try DensityState(features: 4))
                try store.appendCheckpoint(run: "flat", step: 20, state: state)
                try store.appendCheckpoint(run: "flat", step: 30, state: state)
            }
            try box.fails(["histogram", "flat", "--step", "10"], mentioning: ["'flat'", "no activation vectors", "step 10"])
            try box.fails(["histogram", "flat", "--from", "20", "--to", "30"], mentioning: ["(20, 30]", "no activation vectors"])
            try box.fails(["histogram", "flat", "--from", "start", "--to", "10"], mentioning: ["(start, 10]", "no activation vectors"])
            #expect(try box.ok(["histogram", "flat", "--from", "10", "--to", "20", "--format", "csv"]).contains(",1\n"))
        }
    }

    @Test func helpShowsExamples() throws {
        try Sandbox.with { box in
            let result = try box.density(["histogram", "--help"])
            #expect(result.status == 0 && result.stdout.contains("USAGE: density histogram"), "\(result)")
            let examples = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("density histogram ") }
            #expect(examples.count >= 3, "\(result.stdout)")
            #expect(result.stdout.contains("--over-training") && result.stdout.contains("--bins"))
            #expect(box.listing() == [])
        }
    }

    @Test func aMissingStoreIsNotCreated() throws {
        try Sandbox.with { box in
            let result = try box.density(["histogram", "r", "--db", box.path("none.sqlite")])
            expectFailure(result, mentioning: ["none.sqlite", "density create"])
            #expect(box.listing() == [])
        }
    }
}
