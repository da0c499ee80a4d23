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
            Console.out(JSONValue.object([
                ("step", .int(comparison.step)),
                ("runs", .array(zip(names, comparison.runs).map { name, snapshot in
                    let s = snapshot.summary
                    return .object([
                        ("run", .string(name)), ("step", .int(snapshot.checkpoint.step)),
                        ("vectors", .int(s.vectors)), ("features", .int(snapshot.run.features)),
                        ("components", .int(snapshot.run.components)), ("mean_density", .double(s.meanDensity)),
                        ("dead", .int(s.dead)), ("dense", .int(s.dense)), ("non_finite", .int(s.nonFinite)),
                        ("median_log10_density", snapshot.medianLog10Density.map {
                            .array([.double($0.lowerBound), .double($0.upperBound)])
                        } ?? .null),
                    ])
                })),
            ]).text + "\n")
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
            let how = stepOption.step == .latest ? " (the latest step \(names.count == 2 ? "both runs have" : "every run has") reached)" : ShowCommand.resolution(stepOption.step, comparison.step)
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
        var at: Int64? = switch spec {
        case .latest: nil
        case .exact(let value): value
        default: try first.member.store.resolve(spec, run: first.run)
        }
        let stores = Set(located.map(\.member.path))
        if stores.count == 1 { return try first.member.store.compare(runs: located.map(\.run), atOrBefore: at) }
        if at == nil {  // the latest step every run has reached, across the stores
            at = try located.map { entry in
                guard let latest = try entry.member.store.checkpoint(run: entry.run) else {
                    throw StoreError.noCheckpoint(run: entry.run, atOrBefore: nil)
                }
                return latest.step
            }.min()
        }
        let snapshots = try located.map { try $0.member.store.compare(runs: [$0.run], atOrBefore: at).runs[0] }
        if let other = snapshots.first(where: { $0.run.features != snapshots[0].run.features || $0.run.components != snapshots[0].run.components }) {
            throw QueryError.widthMismatch(first: names[0], firstShape: snapshots[0].run.describeShape,
                                           second: names[snapshots.firstIndex(of: other)!], secondShape: other.run.describeShape)
        }
        return RunComparison(step: at!, runs: snapshots)
    }
}
