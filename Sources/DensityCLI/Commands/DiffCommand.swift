import ArgumentParser
import DensityMetric
import DensityStore
import DensityViews

/// `density diff`: densities over a window of steps.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Per-feature density over a window (A, B]: (count_B - count_A) / (vectors_B - vectors_A).",
        discussion: """
            Exact: both ends are stored cumulative counts. --from start is the empty state before \
            the first checkpoint, so `--from start --to S` is the cumulative density at S.
              density diff demo --from 2000 --to 3000
              density diff demo --from -1 --to latest --format csv > window.csv
              density diff demo --window 2000:3000    # the same as --from 2000 --to 3000
            JSON: {"run","from","to","vectors","density","previous"}; density is [features], or \
            [components][features]; from is null for start. previous is {"from","to","vectors"}, \
            the window of the same length before, against which the table lists risers and fallers \
            (none when its vectors are 0), or null when the window starts at the start of the run.
            CSV: feature,count,density (component,feature,count,density with components).
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @OptionGroup var window: WindowOption

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    @Option(help: "Table: how many risers and fallers to list (against the previous window of the same length).")
    var top: Int = 10

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be >= 0, got \(top)") }
        guard window.isGiven else {
            throw ValidationError("give the window: --from A [--to B] or --window A:B, e.g. --from -1 or --window 2000:3000")
        }
    }

    func run() throws {
        let located = try store.openRun(runName)
        let store = located.store
        // JSON and CSV print every feature: the window's counts come a chunk at a time, in the
        // same read as the ranking, and only what is printed is kept. Nothing is printed until
        // the read has succeeded.
        let format = self.format
        var printed = (csv: "", densities: [Double]())
        let (runInfo, movers) = try store.read { snapshot in
            let runInfo = try snapshot.run(named: located.run)
            let features = runInfo.features, components = runInfo.components
            printed.csv = CountRows.header(hasComponents: components != nil)
            let movers = try self.window.reading { spec in
                try snapshot.movers(run: located.run, window: spec, top: format == .table ? top : 0, each: format == .table ? nil : {
                    window, start, counts in
                    if format == .json {
                        printed.densities += counts.lazy.map { DensityState.density(count: $0, vectors: window.vectors) }
                    } else {
                        printed.csv += CountRows.rows(counts, start: start, features: features, hasComponents: components != nil,
                                                      vectors: window.vectors)
                    }
                })
            }
            return (runInfo, movers)
        }
        let window = movers.window
        let note = self.window.note(from: window.from, to: window.to)
        switch format {
        case .json:
            Console.out(QueryJSON.diff(run: runInfo, window: window, densities: printed.densities,
                                       previous: movers.previous).text + "\n")
        case .csv:
            Console.out(printed.csv)
        case .table:
            let summary = movers.summary
            let width = Double(summary.width)
            var text = "run '\(runName)', window (\(window.from.map(String.init) ?? "start"), \(window.to)]"
            text += note + "\n"
            text += "vectors in window  \(window.vectors)\n"
            text += "mean density       \(Console.format(summary.meanDensity))\n"
            text += "dead in window     \(summary.dead) (\(Console.format(100 * Double(summary.dead) / width))%)\n"
            text += "dense (>= 1e-2)    \(summary.dense) (\(Console.format(100 * Double(summary.dense) / width))%)\n"
            text += Self.table(of: movers, run: runInfo, top: top)
            text += "(every feature: --format csv or --format json)\n"
            Console.out(text)
        }
    }

    /// The risers and fallers against the previous window (``StepWindow/previous(in:)``), or why
    /// there are none to list.
    static func table(of movers: WindowMovers, run: Run, top: Int) -> String {
        guard top > 0 else { return "" }
        guard let previous = movers.previous else {
            return "\n(no risers or fallers: the window starts at the start of the run, so there is no previous window)\n"
        }
        let previousLabel = StepWindow(from: previous.from, to: previous.to).description
        guard previous.vectors > 0 else {
            return "\n(no risers or fallers: the previous window \(previousLabel) holds no activation vectors, so its densities are undefined)\n"
        }
        let features = run.features
        func rows(_ changes: [WindowMovers.Change]) -> [[String]] {
            changes.map { c in
                (run.components == nil ? [] : [String(c.index / features)])
                    + [String(c.index % features), Console.format(c.before), Console.format(c.now),
                       (c.change >= 0 ? "+" : "") + Console.format(c.change)]
            }
        }
        let header = (run.components == nil ? [] : ["component"]) + ["feature", "before", "now", "change"]
        var text = "\nrisers (density now vs the previous window \(previousLabel)):\n"
        text += Console.table(header, rows(movers.risers))
        text += "\nfallers:\n"
        text += Console.table(header, rows(movers.fallers))
        return text
    }

    /// How the step specs resolved, when they were not exact checkpoint steps.
    static func resolutionNote(_ from: StepSpec, _ start: Int64?, _ to: StepSpec, _ end: Int64) -> String {
        var notes: [String] = []
        if let start, from != .exact(start) { notes.append("--from \(from) -> \(start)") }
        if to != .exact(end) { notes.append("--to \(to) -> \(end)") }
        return notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")"
    }
}
