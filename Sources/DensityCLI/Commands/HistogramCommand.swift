import ArgumentParser
import Foundation
import DensityMetric
import DensityStore
import DensityViews

/// `density histogram`: the distribution of log10(density + 1e-10), at a step, over a window, or
/// over training.
struct HistogramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "histogram",
        abstract: "Histogram of log10(density + 1e-10) at a step, over a window (A, B], or over training.",
        discussion: """
            N equal bins over [-10, 0]; a feature that never fired has log10(1e-10) = -10, so the \
            first bin holds the dead features. Every (component, feature) pair is counted. Without \
            --step or a window (--from A --to B, or --window A:B) it is the cumulative histogram at \
            the latest checkpoint.
              density histogram demo
              density histogram demo --from -4 --to latest --bins 40
              density histogram demo --over-training --bins 10
            A checkpoint that has seen no activation vectors has no densities: --step refuses it, \
            and --over-training shows it without a histogram (null counts in JSON, empty cells in CSV).
            --over-training reads the histograms stored with each checkpoint (50 bins of 0.2), so \
            --bins must divide 50 (1, 2, 5, 10, 25 or 50; default 10); no counts are decoded. The \
            table shows at most 30 evenly spaced checkpoints (always the first and the last); JSON \
            and CSV have them all.
            JSON: {"run","step","vectors","bins":[{"low","high","count"}]} ("from","to" instead of \
            "step" for a window; from is null for start); over training: \
            {"run","edges":[...],"steps":[{"step","vectors","counts":[...]}]}.
            CSV: low,high,count; over training: step,vectors, then one column per bin.
            """
    )

    /// The default number of bins of one histogram.
    static let defaultBins = 20
    /// The default number of bins over training (one per decade).
    static let defaultOverTrainingBins = 10
    /// The largest number of bins.
    static let maxBins = 200
    /// The most rows the over-training table shows.
    static let maxTableRows = 30

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @OptionGroup var selection: StateSelection

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Bins over [-10, 0]: 1 to \(maxBins), default \(defaultBins); with --over-training a divisor of 50, default \(defaultOverTrainingBins).",
        valueName: "n"))
    var bins: Int?

    @Flag(help: "Every checkpoint's histogram, from the stored summaries: a table of steps x bins.")
    var overTraining = false

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    @OptionGroup var drawing: SVGOptions

    func validate() throws {
        if overTraining {
            if selection.isGiven {
                throw ValidationError("--over-training covers every checkpoint; leave out --step, --from, --to and --window")
            }
            if let bins, bins < 1 || DensitySummary.storedBins % bins != 0 {
                throw ValidationError("--bins \(bins) does not divide the \(DensitySummary.storedBins) stored bins; with --over-training use 1, 2, 5, 10, 25 or 50")
            }
        } else if let bins, !(1...Self.maxBins).contains(bins) {
            throw ValidationError("--bins must be between 1 and \(Self.maxBins), got \(bins)")
        }
    }

    func run() throws {
        let located = try store.openRun(runName)
        if overTraining {
            try printOverTraining(located.store, run: located.run)
        } else {
            let (selected, run) = try located.store.read { snapshot in
                (try selection.summary(snapshot, run: located.run, bins: bins ?? Self.defaultBins), try snapshot.run(named: located.run))
            }
            try printOne(selected, run: run)
        }
    }

    // MARK: - One histogram

    func printOne(_ selected: SelectedSummary, run: Run) throws {
        let summary = selected.summary
        let bins = summary.histogramBins
        if let svg = try drawing.target() {
            let step: Int64
            switch selected.scope {
            case .step(let s): step = s
            case .window(_, let to): step = to
            }
            try ReportPanels.write(ReportPanels.histogram(run: runName, step: step, summary: summary), to: svg)
        }
        let edges = QueryJSON.histogramEdges(bins)
        switch format {
        case .json:
            Console.out(QueryJSON.histogram(run: runName, scope: selected.scope.jsonFields, vectors: summary.vectors,
                                            histogram: summary.histogram).text + "\n")
        case .csv:
            Console.out("low,high,count\n" + summary.histogram.enumerated().map { index, count in
                "\(edges[index]),\(edges[index + 1]),\(count)\n"
            }.joined())
        case .table:
            var text = "run '\(runName)', \(selected.scope.title(selected.note)): \(summary.vectors) vectors, \(run.features) features"
            if let components = run.components { text += " x \(components) components" }
            text += "\nfeatures per bin of log10(density + 1e-10), \(bins) bins over [-10, 0]\n\n"
            text += TextHistogram.lines(summary.histogram, style: .table).map { $0 + "\n" }.joined()
            let dead = 100 * Double(summary.dead) / Double(summary.width)
            let scope = if case .window = selected.scope { "count 0 in the window" } else { "count 0 since the start" }
            text += "\ndead (\(scope)): \(summary.dead) of \(summary.width) (\(Console.format(dead))%), in the first bin\n"
            Console.out(text)
        }
    }

    // MARK: - Over training

    /// Prints the run's histogram at every checkpoint, from the stored summaries.
    /// - Parameter run: The run's name in `store` (`runName` may be `name@store`).
    func printOverTraining(_ store: DensityStore, run: String) throws {
        let bins = self.bins ?? Self.defaultOverTrainingBins
        let summaries = try store.read { snapshot in
            let summaries = try snapshot.summaries(run: run)
            if summaries.isEmpty { throw try snapshot.noCheckpointYet(run: run) }
            return summaries
        }
        // A checkpoint with no vectors has no densities, so no histogram: as with --step there.
        let rows = try summaries.map { checkpoint, summary in
            (step: checkpoint.step, vectors: summary.vectors,
             counts: summary.vectors == 0 ? nil : try Self.regroup(summary.histogram, into: bins, step: checkpoint.step))
        }
        if let svg = try drawing.target() {
            // The stored 50-bin histograms, thinned to at most 200 columns as in the report.
            let kept = TrendCommand.thin(summaries.count, every: nil, points: 200)
            let columns = kept.map { (step: summaries[$0].checkpoint.step, histogram: summaries[$0].summary.histogram) }
            try ReportPanels.write(ReportPanels.heatmap(run: runName, columns: columns, total: summaries.count),
                                   to: svg)
        }
        let edges = QueryJSON.histogramEdges(bins)
        switch format {
        case .json:
            Console.out(QueryJSON.histogramOverTraining(run: runName, bins: bins, rows: rows).text + "\n")
        case .csv:
            let columns = (0..<bins).map { index in
                Console.csvField(TextHistogram.interval(index, edges))
            }
            var text = (["step", "vectors"] + columns).joined(separator: ",") + "\n"
            for row in rows {
                let counts = row.counts?.map(String.init) ?? Array(repeating: "", count: bins)
                text += ([String(row.step), String(row.vectors)] + counts).joined(separator: ",") + "\n"
            }
            Console.out(text)
        case .table:
            let kept = TrendCommand.thin(rows.count, every: nil, points: Self.maxTableRows).map { rows[$0] }
            var text = "run '\(runName)': features per bin of log10(density + 1e-10) at each checkpoint, \(bins) bins over [-10, 0]\n"
            text += "columns: each bin's lower edge; the first (\(Console.format(edges[0]))) holds the dead features\n\n"
            text += Console.table(
                ["step", "vectors"] + edges.dropLast().map { Console.format($0) },
                kept.map { row in
                    [String(row.step), String(row.vectors)] + (row.counts?.map(String.init) ?? Array(repeating: "-", count: bins))
                })
            if rows.contains(where: { $0.counts == nil }) {
                text += "(-: no activation vectors at that checkpoint, so no densities and no histogram)\n"
            }
            if kept.count < rows.count {
                text += "(\(kept.count) of \(rows.count) checkpoints, evenly spaced; every checkpoint: --format csv or --format json)\n"
            }
            Console.out(text)
        }
    }

    /// The stored bins regrouped into `bins` (``TextHistogram/regroup(_:into:)``).
    /// - Throws: ``CLIError`` when the stored histogram's bins cannot be grouped so.
    static func regroup(_ stored: [Int], into bins: Int, step: Int64) throws -> [Int] {
        guard let counts = TextHistogram.regroup(stored, into: bins) else {
            throw CLIError("the stored histogram of step \(step) has \(stored.count) bins, which cannot be merged into \(bins)")
        }
        return counts
    }
}
