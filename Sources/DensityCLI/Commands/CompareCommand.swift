import ArgumentParser
import DensityMetric
import DensityStore
import DensityViews

/// `density compare`: runs' health side by side at one step.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Summarize runs of the same width side by side at a step.",
        discussion: """
            The summaries `show` prints (vectors, mean density, dead, dense, non-finite), plus bounds \
            on the median of log10(density + 1e-10), all read from the summaries stored with the \
            checkpoints (no counts are decoded). Each run is read at its latest checkpoint at or \
            before the step. --step latest (the default) is the latest step every run has reached; \
            first and -K count the first run's checkpoints. Any number of runs, from one store or \
            several (--db repeated; a run two stores hold is named run@store). The median is bounded by the 0.2-wide histogram \
            bin(s) holding it.
              density compare l1-1e-3 l1-3e-3
              density compare l1-1e-3 l1-3e-3 --step 5000 --format json
              density compare l1-1e-3 l1-3e-3 l1-1e-2 --db 'mirrors/*.sqlite'
            JSON: {"step","runs":[{"run","step","vectors","features","components","mean_density",\
            "dead","dense","non_finite","median_log10_density"},...]}; median_log10_density is \
            [low, high], or null with no vectors.
            CSV: run,step,vectors,features,components,mean_density,dead,dense,non_finite,\
            median_log10_density_low,median_log10_density_high
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The runs' names, two or more.", valueName: "run"))
    var names: [String] = []

    @OptionGroup var stepOption: CheckpointOption

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func validate() throws {
        if names.count < 2 { throw ValidationError("missing the second run (run2): name two runs or more, e.g. density compare l1-1e-3 l1-3e-3") }
    }

    func run() throws {
        let comparison = try Self.compare(names, in: store.openSeveral(), at: stepOption.step)
        switch format {
        case .json:
            Console.out(QueryJSON.compare(comparison, names: names).text + "\n")
        case .csv:
            var text = "run,step,vectors,features,components,mean_density,dead,dense,non_finite,median_log10_density_low,median_log10_density_high\n"
            for (name, snapshot) in zip(names, comparison.runs) {
                let s = snapshot.summary, median = snapshot.medianLog10Density
                let fields: [String] = [
                    Console.csvField(name), String(snapshot.checkpoint.step), String(s.vectors),
                    String(snapshot.run.features), snapshot.run.components.map(String.init) ?? "",
                    "\(s.meanDensity)", String(s.dead), String(s.dense), String(s.nonFinite),
                    median.map { "\($0.lowerBound)" } ?? "", median.map { "\($0.upperBound)" } ?? "",
                ]
                text += fields.joined(separator: ",") + "\n"
            }
            Console.out(text)
        case .table:
            let how = stepOption.step == .latest ? " (the latest step \(names.count == 2 ? "both runs have" : "every run has") reached)" : stepOption.step.note(resolvedTo: comparison.step)
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
            text += Console.table([""] + names,
                                  labels.indices.map { row in [labels[row]] + columns.map { $0[row] } })
            if comparison.runs.contains(where: { $0.summary.nonFinite > 0 }) {
                text += "warning: NaN/inf activations were seen: a run may be diverging\n"
            }
            Console.out(text)
        }
    }

    /// The runs (each `name` or `name@store`) compared at one step: in one snapshot when one store
    /// holds them all, else each store's runs in one snapshot of that store, at the step resolved
    /// across all of them.
    /// - Throws: ``CLIError`` for a run in no store or several, the stores' errors.
    static func compare(_ names: [String], in set: StoreSet, at spec: StepSpec) throws -> RunComparison {
        let located = try names.map { try set.locate($0) }
        let first = located[0]
        if Set(located.map(\.member.path)).count == 1 {
            return try first.member.store.read { try $0.compare(located.map(\.run), at: spec) }
        }
        // Across stores: the step is resolved across all of them, then each run is read at it.
        let at: Int64
        if spec == .latest {  // the latest step every run has reached
            at = try located.map { entry in try entry.member.store.read { try $0.checkpoint(run: entry.run, at: .latest).step } }.min()!
        } else {
            guard let resolved = try first.member.store.read({ try $0.resolve(spec, run: first.run) }) else {
                throw SelectionError.startIsNoCheckpoint(run: first.run)
            }
            at = resolved
        }
        let snapshots = try located.map { entry in try entry.member.store.read { try $0.compare([entry.run], at: .exact(at)).runs[0] } }
        if let other = snapshots.firstIndex(where: { $0.run.features != snapshots[0].run.features || $0.run.components != snapshots[0].run.components }) {
            throw QueryError.widthMismatch(first: names[0], firstShape: snapshots[0].run.describeShape,
                                           second: names[other], secondShape: snapshots[other].run.describeShape)
        }
        return RunComparison(step: at, runs: snapshots)
    }
}
