import Foundation
import Testing
@testable import DensityCLI
import ArgumentParser
import DensityMetric
import DensityStore

/// `density report`: one self-contained, well-formed page whose every drawn number is the one
/// `show`, `trend` and `diff` print for the same query.
///
/// The report is made in-process (``ReportCommand`` parsed and run, as the binary does once the
/// subcommand is registered); the numbers it is checked against come from the built `density`
/// binary. ``ReportTests/binaryWritesOnceAndRefusesToOverwrite()`` runs the binary itself.
@Suite struct ReportTests {
    // MARK: - Helpers

    /// Runs `density report ARGS --db <sandbox store>` in-process; returns the page and its tree.
    @discardableResult
    static func report(_ box: Sandbox, _ arguments: [String], out: String = "report.html",
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> (html: String, root: XMLTree.Element) {
        let path = box.path(out)
        let command = try ReportCommand.parse(arguments + ["--out", path, "--db", box.db])
        try command.run()
        let html = try String(contentsOfFile: path, encoding: .utf8)
        return (html, try XMLTree.parse(html))
    }

    /// A small demo run: 256 features, 12 checkpoints at steps 10, 20, …, 120.
    static func demo(_ box: Sandbox) throws {
        try box.ok(["demo", "--features", "256", "--batch", "256", "--checkpoints", "12", "--every", "10"])
    }

    /// `trend --format json`, with window densities.
    struct TrendJSON: Decodable {
        struct Point: Decodable {
            var step: Int64
            var vectors: Int64
            var count: Int64
            var density: Double
            var window_density: Double?
        }
        var points: [Point]
    }

    /// `histogram --step S --format json`.
    struct HistogramJSON: Decodable {
        struct Bin: Decodable { var low: Double; var high: Double; var count: Int }
        var run: String
        var step: Int64
        var vectors: Int64
        var bins: [Bin]
        static let keys: Set = ["run", "step", "vectors", "bins"]
    }

    /// `histogram --over-training --format json`.
    struct OverTrainingJSON: Decodable {
        struct Row: Decodable { var step: Int64; var vectors: Int64; var counts: [Int] }
        var run: String
        var edges: [Double]
        var steps: [Row]
        static let keys: Set = ["run", "edges", "steps"]
    }

    /// `dead --format json`: the dead features of a window, with the step each last fired.
    struct DeadJSON: Decodable {
        struct Feature: Decodable { var feature: Int; var last_fired_step: Int64? }
        var dead: [Feature]
        static let keys: Set = ["run", "from", "to", "vectors", "threshold", "dead", "revived"]
    }

    static func trendJSON(_ box: Sandbox, _ arguments: [String]) throws -> TrendJSON {
        try decode(TrendJSON.self, try box.db(["trend"] + arguments + ["--format", "json"]), keys: TrendOutput.keys)
    }

    /// The `<svg>` of a panel.
    static func panel(_ root: XMLTree.Element, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> XMLTree.Element {
        try #require(root.all { $0.name == "svg" && $0.attributes["data-panel"] == name }.first,
                     "no \(name) panel", sourceLocation: sourceLocation)
    }

    /// The polyline of a series in a chart.
    static func series(_ svg: XMLTree.Element, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> XMLTree.Element {
        try #require(svg.all { $0.name == "polyline" && $0.attributes["data-series"] == name }.first,
                     "no \(name) series", sourceLocation: sourceLocation)
    }

    /// Checks a page holds nothing that loads or runs anything.
    static func expectSelfContained(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for banned in ["http://", "https://", "src=", "<script", "@import", "url(", "<link", "<iframe", "<img", "javascript:"] {
            #expect(!html.lowercased().contains(banned), "the page contains \(banned)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - The demo's report

    @Test func everyPanelMatchesTheCLI() throws {
        try Sandbox.with { box in
            try Self.demo(box)
            let (html, root) = try Self.report(box, ["demo"])
            Self.expectSelfContained(html)
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            let steps = (1...12).map { Int64($0 * 10) }
            let shows = try steps.map { step in
                try decode(ShowOutput.self, try box.db(["show", "demo", "--step", String(step), "--format", "json"]), keys: ShowOutput.keys)
            }

            // Every chart: well-formed (the page parsed), titled, axes labelled.
            let charts = root.all { $0.name == "svg" }
            #expect(charts.map(\.attributes["data-panel"]).prefix(4) == ["histogram", "heatmap", "dead-dense", "vectors"])
            for chart in charts {
                let labels = chart.all { $0.hasClass("axis-label") }.map(\.allText)
                #expect(labels.count >= 2 && labels.allSatisfy { !$0.isEmpty }, "axis labels of \(chart.attributes["data-panel"] ?? "?")")
                #expect(chart.all { $0.hasClass("tick") }.count >= 4)
            }

            // The histogram at the latest step: 50 bars over every feature; dead, dense, vectors as `show`.
            let histogram = try Self.panel(root, "histogram")
            let bars = histogram.all { $0.hasClass("bar") }
            #expect(bars.count == DensitySummary.storedBins)
            #expect(bars.compactMap { Int($0.attributes["data-count"] ?? "") }.reduce(0, +) == 256)
            let latest = try #require(shows.last)
            #expect(histogram.attributes["data-step"] == String(latest.step))
            #expect(histogram.attributes["data-vectors"] == String(latest.vectors))
            #expect(histogram.attributes["data-dead"] == String(latest.dead))
            #expect(histogram.attributes["data-dense"] == String(latest.dense))
            #expect(histogram.allText.contains("dead (count 0): \(latest.dead)"))
            #expect(histogram.allText.contains("dense (>= 1e-2): \(latest.dense)"))
            // Dead features have density 0: all in the first bin.
            #expect(Int(bars[0].attributes["data-count"] ?? "") ?? -1 >= latest.dead)
            // Each bar as `histogram --step S --bins 50` prints it.
            let printed = try decode(HistogramJSON.self, try box.db(["histogram", "demo", "--step", "120", "--bins", "50", "--format", "json"]),
                                     keys: HistogramJSON.keys)
            #expect(bars.map { Int($0.attributes["data-count"] ?? "") } == printed.bins.map { Optional($0.count) })
            #expect(bars.map { Double($0.attributes["data-low"] ?? "") } == printed.bins.map { Optional($0.low) })
            #expect(bars.map { Double($0.attributes["data-high"] ?? "") } == printed.bins.map { Optional($0.high) })
            #expect(printed.vectors == latest.vectors)

            // The heatmap: a column per checkpoint, a cell per bin, each column over every feature,
            // the last column the histogram above.
            let heatmap = try Self.panel(root, "heatmap")
            let columns = heatmap.all { $0.hasClass("column") }
            #expect(columns.map { Int64($0.attributes["data-step"] ?? "") } == steps.map(Optional.init))
            #expect(heatmap.all { $0.hasClass("cell") }.count == steps.count * DensitySummary.storedBins)
            for column in columns {
                #expect(column.children.compactMap { Int($0.attributes["data-count"] ?? "") }.reduce(0, +) == 256)
            }
            #expect(columns.last?.children.map(\.attributes["data-count"]) == bars.map(\.attributes["data-count"]))
            for (column, show) in zip(columns, shows) {
                #expect(Int(column.children[0].attributes["data-count"] ?? "") ?? -1 >= show.dead)
            }
            // Each column as `histogram --over-training --bins 50` prints that step's row.
            let training = try decode(OverTrainingJSON.self, try box.db(["histogram", "demo", "--over-training", "--bins", "50", "--format", "json"]),
                                      keys: OverTrainingJSON.keys)
            #expect(training.steps.map(\.step) == steps)
            for (column, row) in zip(columns, training.steps) {
                #expect(column.children.map { Int($0.attributes["data-count"] ?? "") } == row.counts.map(Optional.init), "step \(row.step)")
            }

            // Dead, dense and vectors at every checkpoint: as `show --step S`.
            let counts = try Self.panel(root, "dead-dense")
            for (name, values) in [("dead", shows.map { Double($0.dead) }), ("dense", shows.map { Double($0.dense) })] {
                let line = try Self.series(counts, name)
                #expect(line.pointCount == steps.count)
                #expect(line.numbers("data-steps") == steps.map(Double.init))
                #expect(line.numbers("data-values") == values, "\(name)")
            }
            let vectors = try Self.series(try Self.panel(root, "vectors"), "vectors")
            #expect(vectors.pointCount == steps.count)
            #expect(vectors.numbers("data-values") == shows.map { Double($0.vectors) })

            // Trends: a point per checkpoint, densities and window densities as `trend`.
            let figures = root.all { $0.name == "figure" && $0.hasClass("trend") }
            #expect(!figures.isEmpty && figures.count <= 6)
            for figure in figures {
                let svg = try Self.panel(figure, "trend")
                let feature = try #require(svg.attributes["data-feature"])
                let json = try Self.trendJSON(box, ["demo", "--feature", feature])
                let density = try Self.series(svg, "density")
                #expect(density.pointCount == steps.count)
                #expect(density.numbers("data-steps") == json.points.map { Double($0.step) })
                #expect(density.numbers("data-values") == json.points.map(\.density), "feature \(feature)")
                let windows = json.points.filter { $0.window_density != nil }
                let window = try Self.series(svg, "window density")
                #expect(window.pointCount == windows.count)
                #expect(window.numbers("data-steps") == windows.map { Double($0.step) })
                #expect(window.numbers("data-values") == windows.map { $0.window_density! }, "feature \(feature)")
                #expect(figure.allText.contains("density trend demo --feature \(feature) --format json"))
            }
        }
    }

    @Test func defaultFeaturesAreTheDiffsRisersAndFallersAndTheMostRecentlyDead() throws {
        try Sandbox.with { box in
            try Self.demo(box)
            let (_, root) = try Self.report(box, ["demo"])
            let store = try DensityStore(path: box.db, readOnly: true)
            let movers = try #require(try ReportData.load(store: store, run: "demo", from: nil, to: nil, features: nil).movers)
            // The last quarter of the 11 intervals between 12 checkpoints: (100, 120], against
            // (80, 100], as `diff` lists them.
            #expect((movers.from, movers.to, movers.previousFrom) == (100, 120, 80))
            let commands = root.all { $0.name == "code" }.map(\.allText)
            #expect(commands.contains { $0.hasPrefix("density diff demo --from 100 --to 120 --top 2 --db ") })
            let table = try box.ok(["diff", "demo", "--from", "100", "--to", "120", "--top", "2"])
            func features(after heading: String) -> [Int] {
                guard let range = table.range(of: heading) else { return [] }
                return table[range.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropFirst(3)
                    .prefix { !$0.isEmpty }
                    .compactMap { $0.split(separator: " ").first.flatMap { Int($0) } }
            }
            #expect(movers.risers.map(\.index) == features(after: "risers ("), "\(table)")
            #expect(movers.fallers.map(\.index) == features(after: "\nfallers:"), "\(table)")
            #expect(movers.risers.count + movers.fallers.count > 0, "\(table)")

            // The most recently dead: of the features `dead --window 100:120` lists, those that
            // fired, by the step they last fired (latest first, ties by index); that step as it prints.
            let deadJSON = try decode(DeadJSON.self, try box.db(["dead", "demo", "--window", "100:120", "--format", "json"]),
                                      keys: DeadJSON.keys)
            let lastFired = Dictionary(uniqueKeysWithValues: deadJSON.dead.compactMap { dead in dead.last_fired_step.map { (dead.feature, $0) } })
            let expected = lastFired.keys.sorted { lastFired[$0]! != lastFired[$1]! ? lastFired[$0]! > lastFired[$1]! : $0 < $1 }.prefix(2)
            #expect(!expected.isEmpty)
            #expect(movers.recentlyDead.map(\.index) == Array(expected))
            #expect(movers.recentlyDead.map(\.lastRose) == expected.map { lastFired[$0]! })
            #expect(commands.contains { $0.hasPrefix("density dead demo --window 100:120 --format json --db ") })

            // The page draws them in that order, each once.
            var seen = Set<Int>()
            let picked = (movers.risers.map(\.index) + movers.fallers.map(\.index) + movers.recentlyDead.map(\.index))
                .filter { seen.insert($0).inserted }
            #expect(root.all { $0.name == "figure" }.map(\.attributes["id"]) == picked.map { "feature-\($0)" })
            for dead in movers.recentlyDead {
                let figure = try #require(root.all { $0.attributes["id"] == "feature-\(dead.index)" }.first)
                if movers.fallers.contains(where: { $0.index == dead.index }) { continue }
                #expect(figure.attributes["data-reason"]?.contains("last rose at step \(dead.lastRose)") == true)
            }
        }
    }

    @Test func recentlyDeadIsExactOnAKnownHistory() throws {
        // 6 features over 10 checkpoints: feature f's count rises at each step until `stops[f]`.
        try Sandbox.with { box in
            let stops: [Int64] = [30, 70, 70, 50, .max, 0]  // 4 never stops, 5 never fires
            let store = try DensityStore(path: box.db, durable: false)
            try store.createRun(name: "known", features: 6, keyframeInterval: 3)
            for step in stride(from: Int64(10), through: 100, by: 10) {
                let counts = stops.map { stop in stop == 0 ? 0 : min(step, stop) / 10 }
                try store.appendCheckpoint(run: "known", step: step,
                                           state: try DensityState(features: 6, components: nil, counts: counts, vectors: step))
            }
            let steps = try store.read { try $0.checkpoints(run: "known") }.map(\.step)
            let window = try store.read { try $0.window(run: "known", WindowSpec(from: .exact(80), to: .exact(100))) }
            let found = try ReportData.recentlyDead(store: store, run: try store.read { try $0.run(named: "known") }, steps: steps,
                                                    window: window, limit: 5)
            #expect(found.map(\.index) == [1, 2, 3, 0])
            #expect(found.map(\.lastRose) == [70, 70, 50, 30])
            let two = try ReportData.recentlyDead(store: store, run: try store.read { try $0.run(named: "known") }, steps: steps,
                                                  window: window, limit: 2)
            #expect(two.map(\.index) == [1, 2])
            // The same steps as `density dead` finds by reading every checkpoint.
            let dead = try store.read { try $0.deadFeatures(run: "known", in: .steps(WindowSpec(from: .exact(80), to: .exact(100)))) }
            let lastFired = Dictionary(uniqueKeysWithValues: dead.dead.map { ($0.feature, $0.lastFiredStep) })
            #expect(found.map { lastFired[$0.index] } == found.map { Optional($0.lastRose) })
        }
    }

    // MARK: - Options

    @Test func fromAndToRestrictTheStepsShown() throws {
        try Sandbox.with { box in
            try Self.demo(box)
            let (html, root) = try Self.report(box, ["demo", "--from", "30", "--to", "-3", "--features", "5,9"])
            let shown: [Double] = [30, 40, 50, 60, 70, 80, 90]
            let heatmap = try Self.panel(root, "heatmap")
            #expect(heatmap.all { $0.hasClass("column") }.map { Double($0.attributes["data-step"] ?? "") } == shown)
            #expect(try Self.series(try Self.panel(root, "dead-dense"), "dead").numbers("data-steps") == shown)
            #expect(try Self.panel(root, "histogram").attributes["data-step"] == "90")
            #expect(html.contains("Steps 30 to 90 (7 of 12 checkpoints)"))
            for feature in ["5", "9"] {
                let svg = try Self.panel(try #require(root.all { $0.attributes["id"] == "feature-\(feature)" }.first), "trend")
                let json = try Self.trendJSON(box, ["demo", "--feature", feature]).points.filter { (30...90).contains($0.step) }
                #expect(try Self.series(svg, "density").numbers("data-values") == json.map(\.density))
                // The first window shown is (20, 30]: before the steps shown, as `trend` prints it.
                #expect(try Self.series(svg, "window density").numbers("data-values") == json.compactMap(\.window_density))
                #expect(json.first?.window_density != nil)
            }
            // A step between checkpoints names the latest checkpoint at or before it, as in every
            // command: --from 35 --to 95 shows 30 to 90.
            let (_, between) = try Self.report(box, ["demo", "--from", "35", "--to", "95", "--force"])
            #expect(try Self.series(try Self.panel(between, "vectors"), "vectors").numbers("data-steps") == shown)

            let early = #expect(throws: SelectionError.self) { try Self.report(box, ["demo", "--from", "5"], out: "none.html") }
            #expect(early == .beforeFirstCheckpoint(run: "demo", step: 5, first: 10))
            #expect(!FileManager.default.fileExists(atPath: box.path("none.html")))
        }
    }

    @Test func longRunsAreThinnedDeterministicallyKeepingTheEnds() throws {
        try Sandbox.with { box in
            let store = try DensityStore(path: box.db, durable: false)
            try store.createRun(name: "long", features: 8)
            var counts = [Int64](repeating: 0, count: 8)
            for i in 1...250 {
                for f in 0..<8 where (i * (f + 1)) % 7 < f { counts[f] += 1 }
                try store.appendCheckpoint(run: "long", step: Int64(i * 3),
                                           state: try DensityState(features: 8, components: nil, counts: counts, vectors: Int64(i * 2)))
            }
            let (first, root) = try Self.report(box, ["long", "--features", "3"], out: "a.html")
            let (second, _) = try Self.report(box, ["long", "--features", "3"], out: "b.html")
            #expect(first == second, "the same report twice")

            let kept = TrendCommand.thin(250, every: nil, points: ReportData.maxHeatmapColumns).map { Double(($0 + 1) * 3) }
            let columns = try Self.panel(root, "heatmap").all { $0.hasClass("column") }
            #expect(columns.count == 200)
            #expect(columns.map { Double($0.attributes["data-step"] ?? "") } == kept)
            #expect(kept.first == 3 && kept.last == 750)
            #expect(try Self.series(try Self.panel(root, "vectors"), "vectors").pointCount == 250)

            // 250 points to draw: `--every 2`, as `density trend long --feature 3 --every 2` prints.
            let svg = try Self.panel(root, "trend")
            let json = try Self.trendJSON(box, ["long", "--feature", "3", "--every", "2"])
            #expect(json.points.count == 126)
            #expect(try Self.series(svg, "density").numbers("data-values") == json.points.map(\.density))
            #expect(try Self.series(svg, "window density").numbers("data-values") == json.points.compactMap(\.window_density))
            #expect(root.all { $0.name == "code" }.map(\.allText).contains { $0.hasPrefix("density trend long --feature 3 --every 2 --format json") })
        }
    }

    @Test func featuresOfComponentsAndBadFeatures() throws {
        try Sandbox.with { box in
            let store = try DensityStore(path: box.db, durable: false)
            try store.createRun(name: "wide", features: 5, components: 2)
            for step in Int64(1)...4 {
                let counts = (0..<10).map { Int64($0) * step }
                try store.appendCheckpoint(run: "wide", step: step * 100,
                                           state: try DensityState(features: 5, components: 2, counts: counts, vectors: step * 10))
            }
            let (_, root) = try Self.report(box, ["wide", "--features", "1:3, 0:4,2"])
            let ids = root.all { $0.name == "figure" }.map { $0.attributes["id"] ?? "" }
            #expect(ids == ["feature-1:3", "feature-0:4", "feature-2"])
            let svg = try Self.panel(try #require(root.all { $0.attributes["id"] == "feature-1:3" }.first), "trend")
            let json = try Self.trendJSON(box, ["wide", "--feature", "3", "--component", "1"])
            #expect(try Self.series(svg, "density").numbers("data-values") == json.points.map(\.density))
            #expect(root.all { $0.name == "code" }.map(\.allText).contains { $0.hasPrefix("density trend wide --feature 3 --component 1 --format json") })
            #expect(try Self.panel(root, "histogram").all { $0.hasClass("bar") }.compactMap { Int($0.attributes["data-count"] ?? "") }
                .reduce(0, +) == 10)

            let outside = #expect(throws: StoreError.self) { try Self.report(box, ["wide", "--features", "2:1"], out: "x.html") }
            #expect(outside == .indexOutOfRange(run: "wide", what: "component", index: 2, size: 2))
            let tooWide = #expect(throws: StoreError.self) { try Self.report(box, ["wide", "--features", "5"], out: "x.html") }
            #expect(tooWide == .indexOutOfRange(run: "wide", what: "feature", index: 5, size: 5))
            #expect(throws: (any Error).self) { try ReportCommand.parse(["wide", "--features", "a,b"]) }
            #expect(throws: (any Error).self) { try ReportCommand.parse(["wide", "--features", "1,,2"]) }
            #expect(throws: (any Error).self) { try ReportCommand.parse(["wide", "--to", "start"]) }
            try store.createRun(name: "flat", features: 4)
            try store.appendCheckpoint(run: "flat", step: 1, state: try DensityState(features: 4, components: nil, counts: [0, 1, 2, 3], vectors: 3))
            let flat = #expect(throws: CLIError.self) { try Self.report(box, ["flat", "--features", "0:1"], out: "x.html") }
            #expect(flat?.description.contains("no components") == true)
            // One checkpoint: every panel still drawn, no window to pick features from.
            let (single, one) = try Self.report(box, ["flat"], out: "one.html")
            #expect(one.all { $0.hasClass("column") }.count == 1)
            #expect(single.contains("a single checkpoint"))
            #expect(!FileManager.default.fileExists(atPath: box.path("x.html")))
        }
    }

    @Test func writesThroughATemporaryFileAndNeverOverwritesWithoutForce() throws {
        try Sandbox.with { box in
            try Self.demo(box)
            try "keep me".write(toFile: box.path("report.html"), atomically: true, encoding: .utf8)
            let refused = #expect(throws: CLIError.self) { try Self.report(box, ["demo"]) }
            #expect(refused?.description.contains("--force") == true)
            #expect(try String(contentsOfFile: box.path("report.html"), encoding: .utf8) == "keep me")
            let (html, _) = try Self.report(box, ["demo", "--force"])
            #expect(html.contains("<svg"))
            #expect(!box.listing().contains { $0.hasSuffix(".tmp") }, "\(box.listing())")

            // A file that appears while the report is made is not replaced either.
            let target = try ExportTarget(path: box.path("late.html"), force: false)
            try "late".write(toFile: box.path("late.html"), atomically: true, encoding: .utf8)
            #expect(throws: CLIError.self) {
                _ = try target.write { file in try file.append("new") }
            }
            #expect(try String(contentsOfFile: box.path("late.html"), encoding: .utf8) == "late")
            #expect(!box.listing().contains { $0.hasSuffix(".tmp") }, "\(box.listing())")

            let unknown = #expect(throws: StoreError.self) { try Self.report(box, ["nope"], out: "nope.html") }
            #expect(unknown?.description.contains("no run named 'nope'") == true)
            #expect(!FileManager.default.fileExists(atPath: box.path("nope.html")))
        }
    }

    @Test func namesAndMetadataAreEscaped() throws {
        try Sandbox.with { box in
            let name = #"<b>"x" & 'y'<script>"#  // no '/': create refuses it (closing tags are in the metadata)
            let store = try DensityStore(path: box.db, durable: false)
            try store.createRun(name: name, features: 3, metadata: #"{"note": "</code><script>alert(1)</script>", "url": "http://x"}"#)
            for step in Int64(1)...3 {
                try store.appendCheckpoint(run: name, step: step,
                                           state: try DensityState(features: 3, components: nil, counts: [0, step, step * 2], vectors: step * 2))
            }
            let (html, root) = try Self.report(box, [name])
            #expect(root.all { $0.name == "h1" }.first?.allText == "Feature density of run \(name)")
            #expect(!html.contains("<script") && !html.contains("<b>"))
            #expect(root.all { $0.name == "code" }.map(\.allText).contains("density show '\(name.replacingOccurrences(of: "'", with: #"'\''"#))' --step 3 --format json --db \(box.db)"))
            #expect(html.contains("http:&#47;&#47;x") && !html.contains("http://"), "a URL in metadata is text, not a reference")
            #expect(root.all { $0.name == "code" }.map(\.allText).contains { $0.contains(#""url": "http://x""#) })
        }
    }

    // MARK: - Through the binary

    /// Whether `density report` is registered in ``DensityCommand``.
    static var registered: Bool {
        DensityCommand.configuration.subcommands.contains { $0 == ReportCommand.self }
    }

    @Test(.enabled(if: ReportTests.registered, "`report` is not yet in DensityCommand's subcommands"))
    func binaryWritesOnceAndRefusesToOverwrite() throws {
        try Sandbox.with { box in
            try Self.demo(box)
            let result = try box.db(["report", "demo", "--out", "r.html"])
            try #require(result.status == 0, "\(result)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("wrote r.html: run 'demo', steps 10 to 120 (12 checkpoints)"), "\(result)")
            #expect(!result.stderr.contains("\r"), "no progress when stderr is not a terminal")
            let html = try String(contentsOfFile: box.path("r.html"), encoding: .utf8)
            Self.expectSelfContained(html)
            _ = try XMLTree.parse(html)
            let again = try box.db(["report", "demo", "--out", "r.html"])
            expectFailure(again, mentioning: ["r.html", "--force"])
            #expect(try String(contentsOfFile: box.path("r.html"), encoding: .utf8) == html)
            expectFailure(try box.db(["report", "demo", "--features", "x"]), mentioning: ["--features"])

            // Every command printed under a panel runs (S: a step shown); those of commands still
            // being written are skipped.
            let root = try XMLTree.parse(html)
            for line in root.all({ $0.name == "pre" && $0.hasClass("cmd") }).flatMap(\.children).map(\.allText) {
                let words = line.split(separator: "#")[0].split(separator: " ").dropFirst().map { $0 == "S" ? "60" : String($0) }
                let help = try box.density([words[0], "--help"])
                if help.stdout.contains("(being written)") { continue }
                let run = try box.density(words)
                #expect(run.status == 0 && !run.stdout.isEmpty, "\(run)")
            }
        }
    }
}
