import ArgumentParser
import DensityMetric
import DensityStore

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
            JSON: {"run","from","to","vectors","density"}; density is [features], or \
            [components][features]; from is null for start.
            CSV: feature,count,density (component,feature,count,density with components).
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: ArgumentHelp("Window start: a step, start, first, latest, or -K.", valueName: "step"))
    var from: StepSpec

    @Option(parsing: .unconditional, help: ArgumentHelp("Window end: a step, latest, first, or -K.", valueName: "step"))
    var to: StepSpec = .latest

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func validate() throws {
        if to == .start { throw ValidationError("--to start names no checkpoint; use latest or a step") }
    }

    func run() throws {
        let store = try store.openForReading()
        let runInfo = try store.run(named: runName)
        let steps = try store.checkpoints(run: runName).map(\.step)
        let end = try to.resolve(in: steps, run: runName)!
        let start = try from.resolve(in: steps, run: runName)
        if let start, start >= end {
            throw CLIError("--from (\(from) -> step \(start)) must be before --to (\(to) -> step \(end))")
        }
        let window = try store.window(run: runName, from: start, to: end)
        guard window.state.vectors > 0 else {
            throw StoreError.emptyWindow(run: runName, from: window.from, to: window.to)
        }
        let densities = window.densities()
        let features = runInfo.features
        switch format {
        case .json:
            let density: JSONValue = runInfo.components == nil
                ? .doubles(densities[...])
                : .array((0..<runInfo.components!).map { c in .doubles(densities[(c * features)..<((c + 1) * features)]) })
            Console.out(JSONValue.object([
                ("run", .string(runName)), ("from", window.from.map { .int($0) } ?? .null), ("to", .int(window.to)),
                ("vectors", .int(window.state.vectors)), ("density", density),
            ]).text + "\n")
        case .csv:
            var text = runInfo.components == nil ? "feature,count,density\n" : "component,feature,count,density\n"
            text.reserveCapacity(densities.count * 24)
            for (i, count) in window.state.counts.enumerated() {
                if runInfo.components != nil { text += "\(i / features)," }
                text += "\(i % features),\(count),\(densities[i])\n"
            }
            Console.out(text)
        case .table:
            let summary = DensitySummary(window.state)
            let width = Double(summary.width)
            var text = "run '\(runName)', window (\(window.from.map(String.init) ?? "start"), \(window.to)]\n"
            text += "vectors in window  \(window.state.vectors)\n"
            text += "mean density       \(Console.format(summary.meanDensity))\n"
            text += "dead in window     \(summary.dead) (\(Console.format(100 * Double(summary.dead) / width))%)\n"
            text += "dense (>= 1e-2)    \(summary.dense) (\(Console.format(100 * Double(summary.dense) / width))%)\n"
            let top = densities.indices.sorted { densities[$0] > densities[$1] }.prefix(10)
            text += "\ndensest features in the window:\n"
            text += Console.table(
                runInfo.components == nil ? ["feature", "count", "density"] : ["component", "feature", "count", "density"],
                top.map { i in
                    (runInfo.components == nil ? [] : [String(i / features)])
                        + [String(i % features), String(window.state.counts[i]), Console.format(densities[i])]
                })
            text += "(every feature: --format csv or --format json)\n"
            Console.out(text)
        }
    }
}
