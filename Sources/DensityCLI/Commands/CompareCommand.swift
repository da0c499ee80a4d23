import ArgumentParser
import DensityMetric
import DensityStore
import DensityViews

/// `density compare`: two runs' health side by side at one step.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Summarize two runs of the same width side by side at a step.",
        discussion: """
            The summaries `show` prints (vectors, mean density, dead, dense, non-finite), plus bounds \
            on the median of log10(density + 1e-10), all read from the summaries stored with the \
            checkpoints (no counts are decoded). Each run is read at its latest checkpoint at or \
            before the step. --step latest (the default) is the latest step both runs have reached; \
            first and -K count RUN1's checkpoints. The median is bounded by the 0.2-wide histogram \
            bin(s) holding it.
              density compare l1-1e-3 l1-3e-3
              density compare l1-1e-3 l1-3e-3 --step 5000 --format json
            JSON: {"step","runs":[{"run","step","vectors","features","components","mean_density",\
            "dead","dense","non_finite","median_log10_density"},...]}; median_log10_density is \
            [low, high], or null with no vectors.
            CSV: run,step,vectors,features,components,mean_density,dead,dense,non_finite,\
            median_log10_density_low,median_log10_density_high
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The first run's name.", valueName: "run1"))
    var first: String

    @Argument(help: ArgumentHelp("The second run's name.", valueName: "run2"))
    var second: String

    @OptionGroup var stepOption: CheckpointOption

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func run() throws {
        let comparison = try store.openForReading().read { try $0.compare(first, second, at: stepOption.step) }
        switch format {
        case .json:
            Console.out(QueryJSON.compare(comparison).text + "\n")
        case .csv:
            var text = "run,step,vectors,features,components,mean_density,dead,dense,non_finite,median_log10_density_low,median_log10_density_high\n"
            for snapshot in comparison.runs {
                let s = snapshot.summary, median = snapshot.medianLog10Density
                let fields: [String] = [
                    Console.csvField(snapshot.run.name), String(snapshot.checkpoint.step), String(s.vectors),
                    String(snapshot.run.features), snapshot.run.components.map(String.init) ?? "",
                    "\(s.meanDensity)", String(s.dead), String(s.dense), String(s.nonFinite),
                    median.map { "\($0.lowerBound)" } ?? "", median.map { "\($0.upperBound)" } ?? "",
                ]
                text += fields.joined(separator: ",") + "\n"
            }
            Console.out(text)
        case .table:
            let how = stepOption.step == .latest ? " (the latest step both runs have reached)" : stepOption.step.note(resolvedTo: comparison.step)
            var text = "compared at step \(comparison.step)\(how)\n\n"
            let percent = { (count: Int, width: Int) in "\(count) (\(Console.format(100 * Double(count) / Double(width)))%)" }
            let columns = comparison.runs.map { snapshot -> [String] in
                let s = snapshot.summary, run = snapshot.run
                return [
                    String(snapshot.checkpoint.step) + (snapshot.checkpoint.step == comparison.step ? "" : " (at or before)"),
                    String(s.vectors),
                    run.components.map { "\(run.features) x \($0) components" } ?? String(run.features),
                    Console.format(s.meanDensity),
                    percent(s.dead, s.width),
                    percent(s.dense, s.width),
                    String(s.nonFinite),
                    snapshot.medianLog10Density.map { "\(Console.format($0.lowerBound)) to \(Console.format($0.upperBound))" } ?? "-",
                ]
            }
            let labels = ["step", "vectors", "features", "mean density", "dead (count 0)", "dense (>= 1e-2)",
                          "non-finite", "median log10(d)"]
            text += Console.table([""] + comparison.runs.map(\.run.name),
                                  labels.indices.map { row in [labels[row]] + columns.map { $0[row] } })
            if comparison.runs.contains(where: { $0.summary.nonFinite > 0 }) {
                text += "warning: NaN/inf activations were seen: a run may be diverging\n"
            }
            Console.out(text)
        }
    }
}
