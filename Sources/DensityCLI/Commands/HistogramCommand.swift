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
    /// The widest bar, in terminal columns.
    static let barWidth = 50

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
        let store = try store.openForReading()
        if overTraining {
            try printOverTraining(store)
        } else {
            let (selected, run) = try store.read { snapshot in
                (try selection.summary(snapshot, run: runName, bins: bins ?? Self.defaultBins), try snapshot.run(named: runName))
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
        let edges = Self.edges(bins)
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
            let labels = (0..<bins).map { index in Self.interval(index, edges) + (index == 0 ? "  dead" : "") }
            let counts = summary.histogram.map(String.init)
            let labelWidth = max(DisplayWidth.of("log10 density"), labels.map(DisplayWidth.of).max() ?? 0)
            let countWidth = max(DisplayWidth.of("count"), counts.map(DisplayWidth.of).max() ?? 0)
            let largest = summary.histogram.max() ?? 0
            text += DisplayWidth.padRight("log10 density", labelWidth) + "  " + DisplayWidth.padLeft("count", countWidth) + "\n"
            text += String(repeating: "-", count: labelWidth) + "  " + String(repeating: "-", count: countWidth) + "\n"
            for index in 0..<bins {
                var line = DisplayWidth.padRight(labels[index], labelWidth) + "  " + DisplayWidth.padLeft(counts[index], countWidth)
                let bar = Self.bar(summary.histogram[index], of: largest, width: Self.barWidth)
                if !bar.isEmpty { line += "  " + bar }
                text += line + "\n"
            }
            let dead = 100 * Double(summary.dead) / Double(summary.width)
            let scope = if case .window = selected.scope { "count 0 in the window" } else { "count 0 since the start" }
            text += "\ndead (\(scope)): \(summary.dead) of \(summary.width) (\(Console.format(dead))%), in the first bin\n"
            Console.out(text)
        }
    }

    // MARK: - Over training

    func printOverTraining(_ store: DensityStore) throws {
        let bins = self.bins ?? Self.defaultOverTrainingBins
        let summaries = try store.read { snapshot in
            let summaries = try snapshot.summaries(run: runName)
            if summaries.isEmpty { throw try snapshot.noCheckpointYet(run: runName) }
            return summaries
        }
        // A checkpoint with no vectors has no densities, so no histogram: as with --step there.
        let rows = try summaries.map { checkpoint, summary in
            (step: checkpoint.step, vectors: summary.vectors,
             counts: summary.vectors == 0 ? nil : try Self.merge(summary.histogram, into: bins, step: checkpoint.step))
        }
        if let svg = try drawing.target() {
            // The stored 50-bin histograms, thinned to at most 200 columns as in the report.
            let kept = TrendCommand.thin(summaries.count, every: nil, points: 200)
            let columns = kept.map { (step: summaries[$0].checkpoint.step, histogram: summaries[$0].summary.histogram) }
            try ReportPanels.write(ReportPanels.heatmap(run: runName, columns: columns, total: summaries.count),
                                   to: svg)
        }
        let edges = Self.edges(bins)
        switch format {
        case .json:
            Console.out(QueryJSON.histogramOverTraining(run: runName, bins: bins, rows: rows).text + "\n")
        case .csv:
            let columns = (0..<bins).map { index in
                Console.csvField(Self.interval(index, edges))
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

    /// Adds up consecutive stored bins into `bins` bins.
    /// - Throws: ``CLIError`` when the stored histogram's bins cannot be grouped so.
    static func merge(_ stored: [Int], into bins: Int, step: Int64) throws -> [Int] {
        guard !stored.isEmpty, stored.count % bins == 0 else {
            throw CLIError("the stored histogram of step \(step) has \(stored.count) bins, which cannot be merged into \(bins)")
        }
        let group = stored.count / bins
        return (0..<bins).map { stored[($0 * group)..<(($0 + 1) * group)].reduce(0, +) }
    }

    // MARK: - Drawing

    /// The bins' edges in log10 density, from -10 to 0 (``QueryJSON/histogramEdges(_:)``).
    static func edges(_ bins: Int) -> [Double] {
        QueryJSON.histogramEdges(bins)
    }

    /// A bin as an interval, `[-10, -9.5)`; the last one is closed, `[-0.5, 0]`.
    static func interval(_ index: Int, _ edges: [Double]) -> String {
        "[\(Console.format(edges[index])), \(Console.format(edges[index + 1]))\(index == edges.count - 2 ? "]" : ")")"
    }

    /// A horizontal bar of `count` scaled so that `largest` is `width` columns, in eighths of a
    /// column; any non-zero count gets at least the thinnest bar.
    static func bar(_ count: Int, of largest: Int, width: Int) -> String {
        guard count > 0, largest > 0 else { return "" }
        let eighths = max(1, Int((Double(count) / Double(largest) * Double(width * 8)).rounded()))
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        return String(repeating: "█", count: eighths / 8) + partial[eighths % 8]
    }

}

// MARK: - The state a query reads

/// `--step S | --from A [--to B] | --window A:B`: the cumulative state at a checkpoint, or the
/// window (A, B] between two; the cumulative state at the latest checkpoint when none is given.
///
/// Shared by `histogram` and `export`.
struct StateSelection: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The cumulative state at a step: a step, latest, first, or -K (K checkpoints before the latest). Default: latest.",
        valueName: "step"))
    var step: StepSpec?

    @OptionGroup var window: WindowSpelling

    /// Whether --step or a window was given.
    var isGiven: Bool { step != nil || window.isGiven }

    func validate() throws {
        if step != nil, window.isGiven {
            throw ValidationError("give --step S (the cumulative state at S) or a window --from A --to B (or --window A:B), not both")
        }
        try step?.requireCheckpoint(flag: "--step")
    }

    /// Reads the selected state; refuses one with no vectors, whose densities are undefined.
    /// - Throws: ``StoreError`` (unknown run, no checkpoint, empty window), ``NoDensities`` (a
    ///   step with no vectors) or ``CLIError`` (the window's ends resolve out of order).
    func read(_ store: StoreSnapshot, run: String) throws -> SelectedState {
        if window.isGiven {
            let window = try self.window.reading { try store.window(run: run, $0) }
            let note = self.window.note(from: window.from, to: window.to)
            guard window.state.vectors > 0 else {
                throw StoreError.emptyWindow(run: run, from: window.from, to: window.to)
            }
            return SelectedState(scope: .window(from: window.from, to: window.to), state: window.state, note: note)
        }
        let step = self.step ?? .latest
        let (checkpoint, state) = try store.state(run: run, at: step)
        try NoDensities.require(state, run: run, step: checkpoint.step)
        return SelectedState(scope: .step(checkpoint.step), state: state,
                             note: ShowCommand.resolution(step, checkpoint.step))
    }
}

extension StateSelection {
    /// The summary of the selected state with `bins` histogram bins: a window's is summarized
    /// by the library chunk by chunk (``StoreSnapshot/windowSummary(run:_:bins:)``), without holding
    /// its counts. Refuses a state with no vectors, as ``read(_:run:)`` does.
    func summary(_ store: StoreSnapshot, run: String, bins: Int) throws -> SelectedSummary {
        if window.isGiven {
            let (bounds, summary) = try self.window.reading { try store.windowSummary(run: run, $0, bins: bins) }
            return SelectedSummary(scope: .window(from: bounds.from, to: bounds.to), summary: summary,
                                   note: self.window.note(from: bounds.from, to: bounds.to))
        }
        let selected = try read(store, run: run)
        return SelectedSummary(scope: selected.scope, summary: DensitySummary(selected.state, bins: bins), note: selected.note)
    }
}

/// The summary of a selection (``StateSelection/summary(_:run:bins:)``): what `histogram` shows.
struct SelectedSummary {
    let scope: SelectedState.Scope
    /// The summary (of the window, for a window).
    let summary: DensitySummary
    /// How the step specs resolved; see ``SelectedState/note``.
    let note: String
}

/// A state read by ``StateSelection``: cumulative at a step, or over a window.
struct SelectedState {
    /// Where the state comes from.
    enum Scope: Equatable {
        /// The cumulative state at a checkpoint.
        case step(Int64)
        /// The window (from, to]; `from` is `nil` for the start of the run.
        case window(from: Int64?, to: Int64)

        /// `"step": S`, or `"from": A, "to": B` (`from` null for start), for JSON outputs.
        var jsonFields: [(String, JSONValue)] {
            switch self {
            case .step(let step): [("step", .int(step))]
            case .window(let from, let to): [("from", from.map { .int($0) } ?? .null), ("to", .int(to))]
            }
        }

        /// "step 1200 (latest)" or "window (1000, 1200]", with how the specs resolved.
        func title(_ note: String) -> String {
            switch self {
            case .step(let step): "step \(step)\(note)"
            case .window(let from, let to): "window (\(from.map(String.init) ?? "start"), \(to)]\(note)"
            }
        }
    }

    let scope: Scope
    /// The counts and vectors (of the window, for a window).
    let state: DensityState
    /// How the step specs resolved, such as " (latest)"; empty when they named exact steps.
    let note: String

    /// `"step": S`, or `"from": A, "to": B` (`from` null for start), for JSON outputs.
    var jsonFields: [(String, JSONValue)] { scope.jsonFields }

    /// "step 1200 (latest)" or "window (1000, 1200]".
    var title: String { scope.title(note) }
}
