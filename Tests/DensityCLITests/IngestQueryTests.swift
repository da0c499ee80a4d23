import Foundation
import Testing

/// `ingest` of files numpy wrote, then `show`, `diff` and `trend`, all compared with numpy's own
/// counts: `(a > threshold).sum(axis=0)` summed over files and steps, densities `count / vectors`
/// as float64, compared with `==`.
@Suite struct IngestQueryTests {
    /// One run: its width and threshold, and the files of each of its three checkpoints.
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var features: Int
        var components: Int?
        var threshold: Double = 0
        var chunkFeatures: Int?
        /// numpy dtype and order of the files, per checkpoint.
        var files: [[(batch: Int, dtype: String, order: String)]]
        var testDescription: String { label }
    }

    static let steps: [Int64] = [100, 250, 400]

    static func uniform(_ dtype: String, _ order: String, _ batches: [[Int]] = [[23, 40, 9], [31], [17, 64]]) -> [[(batch: Int, dtype: String, order: String)]] {
        batches.map { $0.map { (batch: $0, dtype: dtype, order: order) } }
    }

    static let cases: [Case] = [
        Case(label: "float32, C order, 2-D", features: 40, files: uniform("<f4", "C")),
        Case(label: "float16, C order, 2-D", features: 33, files: uniform("<f2", "C")),
        Case(label: "float64, C order, 2-D", features: 29, files: uniform("<f8", "C")),
        Case(label: "float32, Fortran order, 2-D", features: 37, files: uniform("<f4", "F")),
        Case(label: "float16, Fortran order, 2-D", features: 21, files: uniform("<f2", "F")),
        Case(label: "float64, Fortran order, 2-D", features: 18, files: uniform("<f8", "F")),
        Case(label: "big-endian float32, Fortran order, 2-D", features: 26, files: uniform(">f4", "F")),
        Case(label: "float32, C order, 3-D with 2 components, --fire-threshold 0.5", features: 24, components: 2,
             threshold: 0.5, files: uniform("<f4", "C")),
        Case(label: "float64, Fortran order, 3-D with 3 components, --fire-threshold 0.5, --chunk-features 7",
             features: 19, components: 3, threshold: 0.5, chunkFeatures: 7, files: uniform("<f8", "F")),
        Case(label: "float16, Fortran order, 3-D with 2 components", features: 15, components: 2, files: uniform("<f2", "F")),
        // 0.3 is above its float32 and float16 roundings: values equal to the rounded threshold must
        // not fire (numpy and torch compare in the array's dtype).
        Case(label: "float32, --fire-threshold 0.3 (rounds up in float32)", features: 30, threshold: 0.3, files: uniform("<f4", "C")),
        Case(label: "float16, 3-D, --fire-threshold 0.3 (rounds up in float16)", features: 12, components: 2, threshold: 0.3,
             files: uniform("<f2", "C")),
        Case(label: "mixed dtypes and orders in one ingest", features: 35, chunkFeatures: 8,
             files: [[(23, "<f2", "C"), (40, "<f4", "F"), (9, "<f8", "C"), (12, ">f8", "F")], [(31, "<f4", "C")],
                     [(17, "<f8", "F"), (64, "<f2", "F")]]),
        Case(label: "256 x 512 float32 in 100-feature chunks", features: 512, chunkFeatures: 100,
             files: uniform("<f4", "C", [[256], [128, 7], [200]])),
    ]

    @Test(arguments: cases)
    func queriesMatchNumpy(_ c: Case) throws {
        try Sandbox.with { box in
            let run = "r"
            let mid = c.features / 2
            var trends = [[0, 0], [c.features - 1, 0], [mid, 0]]
            if let components = c.components { trends += [[mid, components - 1], [c.features - 1, components - 1]] }
            let spec = GeneratorSpec(
                run: run, features: c.features, components: c.components, threshold: c.threshold,
                seed: c.label.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF },
                checkpoints: zip(Self.steps, c.files).map { step, files in
                    .init(step: step, files: files.map { .init(batch: $0.batch, dtype: $0.dtype, order: $0.order) })
                },
                trends: trends)
            let expected = try Numpy.generate(spec, in: box)

            var create = ["create", run, "--features", String(c.features), "--fire-threshold", String(c.threshold)]
            if let components = c.components { create += ["--components", String(components)] }
            if let chunk = c.chunkFeatures { create += ["--chunk-features", String(chunk)] }
            try box.ok(create)
            for checkpoint in expected.checkpoints {
                let result = try box.db(["ingest", run, "--step", String(checkpoint.step)] + checkpoint.files)
                try #require(result.status == 0, "ingest failed: \(result)")
                #expect(result.stdout.isEmpty, "ingest prints its account on stderr, not stdout")
                #expect(result.stderr.contains("step \(checkpoint.step)"), "\(result)")
                if checkpoint.step == Self.steps[0] {
                    #expect(result.stderr.contains("warning"), "NaN and inf in the files should be reported: \(result)")
                }
            }

            // show, at every checkpoint and through latest/first.
            for checkpoint in expected.checkpoints {
                let shown = try decode(ShowOutput.self, try box.db(["show", run, "--step", String(checkpoint.step), "--format", "json"]),
                                       keys: ShowOutput.keys)
                #expect(shown == checkpoint.show)
            }
            let latest = try decode(ShowOutput.self, try box.db(["show", run, "--format", "json"]), keys: ShowOutput.keys)
            #expect(latest == expected.checkpoints.last?.show)
            let first = try decode(ShowOutput.self, try box.db(["show", run, "--step", "first", "--format", "json"]), keys: ShowOutput.keys)
            #expect(first == expected.checkpoints.first?.show)
            #expect(expected.checkpoints.last?.show.non_finite ?? 0 > 0, "the fixture holds NaN and inf")

            // diff as JSON over several windows, `--from start` included.
            for (from, to) in [(nil, 400), (nil, 100), (100, 400), (100, 250), (250, 400)] as [(Int64?, Int64)] {
                let want = try expected.diff(from: from, to: to)
                let args = ["diff", run, "--from", from.map(String.init) ?? "start", "--to", String(to), "--format", "json"]
                let got = try decode(DiffOutput.self, try box.db(args), keys: DiffOutput.keys)
                #expect(got == want.output, "diff \(args)")
                if c.components == nil {
                    guard case .flat = got.density else { Issue.record("density must be [F] without components"); continue }
                } else {
                    guard case .nested(let rows) = got.density else { Issue.record("density must be [C][F] with components"); continue }
                    #expect(rows.count == c.components && rows.allSatisfy { $0.count == c.features })
                }
            }

            // diff as CSV: one row per (component,) feature with the exact count.
            let want = try expected.diff(from: 100, to: 400)
            let csv = try box.ok(["diff", run, "--from", "100", "--to", "400", "--format", "csv"])
            let rows = try parseCSV(csv, components: c.components, features: c.features)
            #expect(rows.map(\.count) == want.counts)
            #expect(rows.map(\.density) == want.output.density.flattened)

            // trend, as JSON, for a few features (and components).
            for trend in expected.trends {
                var args = ["trend", run, "--feature", String(trend.feature), "--format", "json"]
                if c.components != nil { args += ["--component", String(trend.component ?? 0)] }
                var got = try decode(TrendOutput.self, try box.db(args), keys: TrendOutput.keys)
                #expect(got.component == (c.components == nil ? nil : trend.component), "component is null without components")
                got.component = trend.component
                #expect(got == trend, "trend \(args)")
            }
        }
    }

    struct CSVRow { var component: Int?; var feature: Int; var count: Int64; var density: Double }

    /// Parses `diff --format csv`, checking its header and that rows come in (component, feature) order.
    func parseCSV(_ text: String, components: Int?, features: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> [CSVRow] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.last == "", "CSV ends with a newline", sourceLocation: sourceLocation)
        lines.removeLast()
        let header = components == nil ? "feature,count,density" : "component,feature,count,density"
        #expect(lines.first == header, sourceLocation: sourceLocation)
        var rows: [CSVRow] = []
        for (index, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",").map(String.init)
            let parsed: CSVRow? = components == nil
                ? (fields.count == 3 ? Int(fields[0]).flatMap { f in Int64(fields[1]).flatMap { n in Double(fields[2]).map { CSVRow(component: nil, feature: f, count: n, density: $0) } } } : nil)
                : (fields.count == 4 ? Int(fields[0]).flatMap { c in Int(fields[1]).flatMap { f in Int64(fields[2]).flatMap { n in Double(fields[3]).map { CSVRow(component: c, feature: f, count: n, density: $0) } } } } : nil)
            let row = try #require(parsed, "bad CSV row \(index + 1): \(line)", sourceLocation: sourceLocation)
            #expect(row.feature == index % features && row.component == components.map { _ in index / features },
                    "CSV row \(index + 1) out of order: \(line)", sourceLocation: sourceLocation)
            rows.append(row)
        }
        #expect(rows.count == (components ?? 1) * features, sourceLocation: sourceLocation)
        return rows
    }
}
