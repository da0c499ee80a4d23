import ArgumentParser
import DensityMetric
import DensityStore
import Foundation
import DensityViews

/// The report's page: one self-contained HTML file (inline SVG and CSS; no script, font, image or
/// network reference) that is also well-formed XML, so any XML parser can check it.
///
/// Under each panel it prints the `density` commands whose output holds that panel's numbers.
struct HTMLReport {
    /// What the page shows.
    var data: ReportData
    /// `--db` as the user gave it, repeated in the commands shown (nil: the default store).
    var db: String?

    // MARK: - The page

    /// The whole page.
    var html: String {
        let run = data.run
        let first = data.shown[0].checkpoint.step, last = data.latest.checkpoint.step
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>\(e("density report: \(run.name)"))</title>
            <style>
            \(Self.css)
            </style>
            </head>
            <body>
            <main>
            <h1>Feature density of run <code>\(e(run.name))</code></h1>
            <p class="lede">\(e(lede(first: first, last: last)))</p>

            """
        page += metadataSection(first: first, last: last)
        page += histogramSection()
        page += heatmapSection(first: first, last: last)
        page += countsSection(first: first, last: last)
        page += trendsSection()
        page += """
            <footer><p class="note">Made by <code>density report</code> \(e(DensityCommand.configuration.version)). \
            Every number drawn is in the SVG markup (<code>data-</code> attributes and tooltips) and is printed by \
            the commands under its panel.</p></footer>
            </main>
            </body>
            </html>

            """
        return page
    }

    /// One line under the title: steps, checkpoints, width.
    func lede(first: Int64, last: Int64) -> String {
        let total = data.steps.count
        let shown = data.shown.count == total ? "all \(total) checkpoints" : "\(data.shown.count) of \(total) checkpoints"
        return "Steps \(first) to \(last) (\(shown)); \(Self.describeWidth(data.run)); fires when an activation is > \(data.run.fireThreshold)."
    }

    // MARK: - Sections

    func metadataSection(first: Int64, last: Int64) -> String {
        let run = data.run
        let (checkpoint, summary) = data.latest
        var rows: [(String, String)] = [
            ("run", run.name),
            ("features", Self.describeWidth(run)),
            ("fire threshold", "an activation fires when > \(run.fireThreshold)"),
            ("steps covered", data.shown.count == data.steps.count
                ? "\(first) to \(last): all \(data.steps.count) checkpoints"
                : "\(first) to \(last): \(data.shown.count) of the run's \(data.steps.count) checkpoints (which go from \(data.steps[0]) to \(data.steps[data.steps.count - 1]))"),
            ("vectors seen", "\(summary.vectors) at step \(checkpoint.step)"),
            ("mean density", Console.format(summary.meanDensity)),
            ("dead (count 0)", "\(summary.dead) (\(Console.format(100 * Double(summary.dead) / Double(max(1, summary.width))))%)"),
            ("dense (>= 1e-2)", "\(summary.dense) (\(Console.format(100 * Double(summary.dense) / Double(max(1, summary.width))))%)"),
            ("non-finite activations", String(summary.nonFinite)),
            ("storage", "\(run.chunkFeatures) features per chunk, a keyframe every \(run.keyframeInterval) checkpoints"),
            ("created", run.createdAt),
        ]
        rows.append(("metadata", run.metadata ?? "none"))
        var text = "<section id=\"run\">\n<h2>Run</h2>\n<table class=\"meta\">\n"
        for (key, value) in rows {
            let cell = key == "metadata" && run.metadata != nil ? "<code>\(e(value))</code>" : e(value)
            text += "<tr><th>\(e(key))</th><td>\(cell)</td></tr>\n"
        }
        text += "</table>\n"
        text += commands(["density " + args(["runs"]), "density " + args(["show", run.name, "--step", String(checkpoint.step), "--format", "json"])])
        return text + "</section>\n"
    }

    func histogramSection() -> String {
        let (checkpoint, summary) = data.latest
        let svg = ReportPanels.histogram(run: data.run.name, step: checkpoint.step, summary: summary)
        let step = String(checkpoint.step)
        return section(
            id: "histogram", title: "Density histogram at step \(checkpoint.step)", svg: svg,
            note: "\(summary.histogramBins) bins of log10(density + 1e-10) over [-10, 0], cumulative over the \(summary.vectors) vectors seen by step \(checkpoint.step). Red: the first bin, which holds the \(summary.dead) dead features (count 0). Shaded: the dense band, density >= 1e-2, \(summary.dense) features.",
            commands: [
                "density " + args(["histogram", data.run.name, "--step", step, "--bins", String(summary.histogramBins), "--format", "json"]),
                "density " + args(["show", data.run.name, "--step", step, "--format", "json"]) + "   # vectors, dead, dense",
            ])
    }

    func heatmapSection(first: Int64, last: Int64) -> String {
        let columns = data.heatmapColumns.map { (step: data.shown[$0].checkpoint.step, histogram: data.shown[$0].summary.histogram) }
        let svg = ReportPanels.heatmap(run: data.run.name, columns: columns, total: data.shown.count)
        let thinned = columns.count < data.shown.count
            ? "\(columns.count) of the \(data.shown.count) checkpoints, evenly spaced, the first and the last kept"
            : "every checkpoint (\(columns.count))"
        return section(
            id: "heatmap", title: "Density histogram over training", svg: svg,
            note: "One column per checkpoint: \(thinned). Colour: the number of features in each log10-density bin (log scale; grey: none). A feature moving down the chart is fading; the bottom row is the dead.",
            commands: [
                "density " + args(["histogram", data.run.name, "--over-training", "--bins",
                                   String(data.latest.summary.histogramBins), "--format", "json"])
                    + "   # every checkpoint; drawn: \(first) to \(last)",
                "density " + args(["histogram", data.run.name, "--step", "S", "--bins",
                                   String(data.latest.summary.histogramBins), "--format", "json"]) + "   # one column",
            ])
    }

    func countsSection(first: Int64, last: Int64) -> String {
        let points = data.linePoints.map { data.shown[$0] }
        let counts = ReportPanels.deadDense(run: data.run.name, points: points.map {
            (step: $0.checkpoint.step, dead: $0.summary.dead, dense: $0.summary.dense)
        })
        let vectors = ReportPanels.vectors(run: data.run.name, points: points.map {
            (step: $0.checkpoint.step, vectors: $0.summary.vectors)
        })
        let thinned = points.count < data.shown.count ? " (\(points.count) of \(data.shown.count) checkpoints, evenly spaced)" : ""
        let show = "density " + args(["show", data.run.name, "--step", "S", "--format", "json"])
        return section(
            id: "dead-dense", title: "Dead and dense features over training", svg: counts,
            note: "At each checkpoint\(thinned): dead = count 0 since the start of the run, dense = cumulative density >= 1e-2.",
            commands: [show + "   # S from \(first) to \(last): fields dead, dense"])
            + section(
                id: "vectors", title: "Activation vectors seen", svg: vectors,
                note: "Cumulative vectors (batch x sequence positions) counted by each checkpoint\(thinned).",
                commands: [show + "   # field vectors", "density " + args(["runs"])])
    }

    func trendsSection() -> String {
        var text = "<section id=\"trends\">\n<h2>Feature trends</h2>\n"
        if let movers = data.movers {
            let diff = "density " + args(["diff", data.run.name, "--from", String(movers.from), "--to", String(movers.to),
                                          "--top", String(movers.top)])
            let previous = "(\(movers.previousFrom.map(String.init) ?? "start"), \(movers.from)]"
            text += "<p class=\"note\">\(e("Picked from the last quarter of the steps shown, window (\(movers.from), \(movers.to)], against the window before it, \(previous): the \(movers.top) fastest risers and fallers of window density (as density diff lists them), and the \(movers.top) features dead in the window (no firing) that last fired most recently before it (as density dead lists them, with the step each last fired). Choose others with --features F1,F2."))</p>\n"
            let dead = "density " + args(["dead", data.run.name, "--window", "\(movers.from):\(movers.to)", "--format", "json"])
            text += commands([diff, dead + "   # last_fired_step of the recently dead"])
        } else if data.trends.isEmpty {
            text += "<p class=\"note\">No trend: the steps shown hold a single checkpoint, so there is no window to pick features from. Name features with --features F1,F2.</p>\n"
        }
        text += "<div class=\"trends\">\n"
        for trend in data.trends {
            let svg = ReportPanels.trend(run: data.run.name, feature: trend.ref.description, points: trend.points, windows: trend.windows)
            var arguments = ["trend", data.run.name, "--feature", String(trend.ref.feature)]
            if data.run.components != nil { arguments += ["--component", String(trend.ref.component ?? 0)] }
            if let every = trend.every { arguments += ["--every", String(every)] }
            arguments += ["--format", "json"]
            let shown = trend.every.map { "every \($0)th checkpoint" } ?? "every checkpoint"
            text += "<figure class=\"trend\" id=\"\(e("feature-\(trend.ref)"))\" data-reason=\"\(e(trend.reason))\">\n"
            text += svg.xml + "\n"
            text += "<figcaption><p class=\"note\">\(e(trend.reason.prefix(1).uppercased() + trend.reason.dropFirst())). Solid: cumulative density; dashed: density over each window between points (\(shown)).</p>\n"
            text += commands(["density " + args(arguments)]) + "</figcaption>\n</figure>\n"
        }
        return text + "</div>\n</section>\n"
    }

    // MARK: - Pieces

    /// A panel: heading, chart, note and commands.
    func section(id: String, title: String, svg: SVG, note: String, commands list: [String]) -> String {
        "<section class=\"panel\" id=\"\(e(id))\">\n<h2>\(e(title))</h2>\n" + svg.xml + "\n"
            + "<p class=\"note\">\(e(note))</p>\n" + commands(list) + "</section>\n"
    }

    /// The commands that print a panel's numbers.
    func commands(_ lines: [String]) -> String {
        "<pre class=\"cmd\">" + lines.map { "<code>\(e($0))</code>" }.joined(separator: "\n") + "</pre>\n"
    }

    /// Arguments quoted for a POSIX shell, with `--db` when one was given.
    func args(_ arguments: [String]) -> String {
        (arguments + (db.map { ["--db", $0] } ?? [])).map(Self.shellQuote).joined(separator: " ")
    }

    /// A word as a POSIX shell reads it back: as is when safe, else in single quotes.
    static func shellQuote(_ word: String) -> String {
        let safe = !word.isEmpty && word.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_./:=,+@%".unicodeScalars.contains($0)
        }
        return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `4096 features`, or `4096 features x 2 components`.
    static func describeWidth(_ run: Run) -> String {
        run.components.map { "\(run.features) features x \($0) components" } ?? "\(run.features) features"
    }

    /// Escaped text.
    func e(_ text: some StringProtocol) -> String { SVG.escape(String(text)) }

    /// The page's style: system fonts only, nothing loaded.
    static let css = """
        body { font-family: sans-serif; color: #222222; background: #f4f4f4; margin: 0; }
        main { max-width: 940px; margin: 0 auto; padding: 18px 24px 28px; background: #ffffff; }
        h1 { font-size: 24px; margin: 4px 0 4px; }
        h2 { font-size: 18px; margin: 26px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #dddddd; }
        p.lede { color: #555555; margin: 0 0 8px; }
        p.note { font-size: 13px; color: #444444; margin: 6px 0; line-height: 1.4; }
        table.meta { border-collapse: collapse; font-size: 14px; }
        table.meta th { text-align: left; font-weight: normal; color: #555555; padding: 2px 18px 2px 0; vertical-align: top; white-space: nowrap; }
        table.meta td { padding: 2px 0; }
        code { font-family: monospace; font-size: 13px; }
        h1 code { font-size: inherit; }
        pre.cmd { background: #f3f5f8; border-left: 3px solid #4c78a8; padding: 6px 10px; margin: 4px 0 0; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
        svg.chart { display: block; width: 100%; max-width: 100%; height: auto; }
        div.trends { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px 16px; }
        figure.trend { margin: 0; }
        figcaption p.note { margin-top: 2px; }
        footer { margin-top: 28px; border-top: 1px solid #dddddd; }
        """
}
