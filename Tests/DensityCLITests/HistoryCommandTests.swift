import Foundation
import Testing

/// `density history` and `density summaries` through the binary: every count equals the state
/// `export --what counts` writes at that checkpoint, every summary equals what `histogram
/// --over-training` and `show` print, and bad input is refused with a message.
@Suite struct HistoryCommandTests {
    /// `history --format json`.
    struct History: Decodable {
        var run: String
        var component: [Int]
        var feature: [Int]
        var step: [Int64]
        var vectors: [Int64]
        var counts: [[Int64]]
        static let keys: Set = ["run", "component", "feature", "step", "vectors", "counts"]
    }

    /// `summaries --format json`.
    struct Summaries: Decodable {
        var run: String
        var features: Int
        var components: Int?
        var edges: [Double]
        var step: [Int64]
        var vectors: [Int64]
        var non_finite: [Int64]
        var dead: [Int]
        var dense: [Int]
        var mean_density: [Double?]
        var mean_log10_density: [Double?]
        var histogram: [[Int]]
        static let keys: Set = ["run", "features", "components", "edges", "step", "vectors", "non_finite", "dead", "dense",
                                "mean_density", "mean_log10_density", "histogram"]
    }

    /// `export --what counts --format json`.
    struct Exported: Decodable {
        var vectors: Int64
        var values: [Int64]
    }

    static let steps: [Int64] = [100, 200, 300]

    /// Every checkpoint's exported counts, flat.
    static func states(_ box: Sandbox, _ run: String) throws -> [Exported] {
        try steps.map { step in
            let out = box.path("state.json")
            try box.ok(["export", run, "--what", "counts", "--step", String(step), "--out", out, "--force"])
            return try JSONDecoder().decode(Exported.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        }
    }

    /// The tensors of a safetensors file as int64 arrays (F64 tensors as their bit patterns), with
    /// their shapes.
    static func readSafetensors(_ path: String) throws -> [String: (shape: [Int], values: [Int64])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        var tensors: [String: (shape: [Int], values: [Int64])] = [:]
        for (name, value) in header where name != "__metadata__" {
            let info = try #require(value as? [String: Any])
            #expect(["I64", "F64"].contains(info["dtype"] as? String))
            let offsets = try #require(info["data_offsets"] as? [Int])
            let bytes = data.subdata(in: (8 + length + offsets[0])..<(8 + length + offsets[1]))
            let values = bytes.withUnsafeBytes { raw in (0..<(bytes.count / 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) } }
            tensors[name] = (try #require(info["shape"] as? [Int]), values)
        }
        #expect(8 + length + (tensors.values.map { $0.values.count * 8 }.reduce(0, +)) == data.count, "no gap and nothing after the data")
        return tensors
    }

    @Test func someFeaturesEqualTheExportedStatesInTheOrderAsked() throws {
        try Sandbox.with { box in
            try HistogramCommandTests.record(box)
            for (run, list, flat) in [("r", "0,4,63,5,4", [0, 4, 63, 5, 4]), ("m", "1:7,0:3,1:31,7", [39, 3, 63, 7])] {
                let states = try Self.states(box, run)
                let history = try decode(History.self, try box.db(["history", run, "--features", list]), keys: History.keys)
                #expect(history.step == Self.steps && history.vectors == states.map(\.vectors))
                #expect(zip(history.component, history.feature).map { $0 * (run == "m" ? 32 : 0) + $1 } == flat)
                #expect(history.counts == states.map { state in flat.map { state.values[$0] } }, "\(run) \(list)")
                let out = box.path("\(run).safetensors")
                try box.ok(["history", run, "--features", list, "--out", out])
                let tensors = try Self.readSafetensors(out)
                #expect(tensors["counts"]?.shape == [3, flat.count])
                #expect(tensors["counts"]?.values == history.counts.flatMap { $0 })
                #expect(tensors["step"]?.values == Self.steps && tensors["vectors"]?.values == history.vectors)
                #expect(tensors["feature"]?.values == history.feature.map(Int64.init))
            }
        }
    }

    @Test func allFeaturesEqualTheExportedStates() throws {
        try Sandbox.with { box in
            try HistogramCommandTests.record(box)
            for run in ["r", "m"] {
                let states = try Self.states(box, run)
                let out = box.path("\(run)-all.safetensors")
                try box.ok(["history", run, "--features", "all", "--out", out])
                let tensors = try Self.readSafetensors(out)
                #expect(tensors["counts"]?.shape == [3, 64])
                #expect(tensors["counts"]?.values == states.flatMap(\.values), "\(run)")
                #expect(tensors["component"]?.values == (0..<64).map { run == "m" ? Int64($0 / 32) : 0 })
                #expect(tensors["feature"]?.values == (0..<64).map { run == "m" ? Int64($0 % 32) : Int64($0) })
                let json = try decode(History.self, try box.db(["history", run, "--features", "all", "--format", "json"]),
                                      keys: History.keys)
                #expect(json.counts == states.map(\.values))
            }
        }
    }

    @Test func summariesEqualTheStoredHistogramsAndShow() throws {
        try Sandbox.with { box in
            try HistogramCommandTests.record(box)
            for run in ["r", "m"] {
                let summaries = try decode(Summaries.self, try box.db(["summaries", run]), keys: Summaries.keys)
                let overTraining = try decode(HistogramCommandTests.OverTraining.self,
                                              try box.db(["histogram", run, "--over-training", "--bins", "50", "--format", "json"]),
                                              keys: HistogramCommandTests.OverTraining.keys)
                #expect(summaries.step == Self.steps && summaries.histogram == overTraining.steps.map(\.counts))
                #expect(summaries.edges == overTraining.edges && summaries.edges.count == 51)
                #expect(summaries.features == (run == "m" ? 32 : 64) && summaries.components == (run == "m" ? 2 : nil))
                let states = try Self.states(box, run)
                for (index, step) in Self.steps.enumerated() {
                    let show = try decode(ShowOutput.self, try box.db(["show", run, "--step", String(step), "--format", "json"]),
                                          keys: ShowOutput.keys)
                    #expect(summaries.vectors[index] == show.vectors && summaries.dead[index] == show.dead)
                    #expect(summaries.dense[index] == show.dense && summaries.non_finite[index] == show.non_finite)
                    #expect(summaries.mean_density[index] == show.mean_density)
                    // The binned mean is within half a bin (0.1) of the exact mean of log10(density + 1e-10).
                    let vectors = Double(states[index].vectors)
                    let exact = states[index].values.map { log10(Double($0) / vectors + 1e-10) }.reduce(0, +) / 64
                    let binned = try #require(summaries.mean_log10_density[index])
                    #expect(abs(binned - exact) <= 0.1 + 1e-12, "\(run) \(step): \(binned) vs \(exact)")
                }
                let file = box.path("\(run)-summaries.safetensors")
                try box.ok(["summaries", run, "--format", "safetensors", "--out", file])
                let tensors = try Self.readSafetensors(file)
                #expect(tensors["step"]?.values == summaries.step && tensors["dead"]?.values == summaries.dead.map(Int64.init))
                #expect(tensors["dense"]?.values == summaries.dense.map(Int64.init) && tensors["vectors"]?.values == summaries.vectors)
                #expect(tensors["histogram"]?.shape == [3, 50])
                #expect(tensors["histogram"]?.values == summaries.histogram.flatMap { $0.map(Int64.init) })
                #expect(tensors["mean_density"]?.values.map { Double(bitPattern: UInt64(bitPattern: $0)) } == summaries.mean_density.map { $0! })
                #expect(tensors["edges"]?.values.map { Double(bitPattern: UInt64(bitPattern: $0)) } == summaries.edges)
                try box.fails(["summaries", run, "--format", "safetensors"], mentioning: ["--out"])
                let csv = try box.ok(["summaries", run, "--format", "csv"]).split(separator: "\n")
                #expect(csv.count == 4 && csv[1].hasPrefix("100,\(summaries.vectors[0]),0,\(summaries.dead[0]),"))
                #expect(csv[3].hasSuffix("," + summaries.histogram[2].map(String.init).joined(separator: ",")))
            }
        }
    }

    @Test func badInputIsRefusedWithAMessage() throws {
        try Sandbox.with { box in
            try HistogramCommandTests.record(box)
            try box.fails(["history", "r", "--features", "64"], mentioning: ["feature", "64"])
            try box.fails(["history", "m", "--features", "2:1"], mentioning: ["component"])
            try box.fails(["history", "r", "--features", "1:2"], mentioning: ["no components"])
            try box.fails(["history", "r", "--features", "x,1"], mentioning: ["--features"])
            try box.fails(["history", "nope", "--features", "1"], mentioning: ["nope"])
            try box.fails(["summaries", "nope"], mentioning: ["nope"])
            try box.ok(["create", "empty", "--features", "4"])
            #expect(try box.db(["history", "empty", "--features", "1"]).status == 3)
            #expect(try box.db(["history", "empty", "--features", "all"]).status == 3)
            #expect(try box.db(["summaries", "empty"]).status == 3)
        }
    }
}
