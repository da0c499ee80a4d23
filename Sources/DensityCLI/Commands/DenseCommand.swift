import ArgumentParser
import DensityMetric
import DensityStore
import DensityViews

/// `density dense`: the features whose density in a window reaches a threshold.
struct DenseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dense",
        abstract: "List the features whose density in a window of steps is at least a threshold (1e-2), densest first.",
        discussion: """
            Window density: (count_B - count_A) / (vectors_B - vectors_A), exact. The window is the \
            whole run by default; --window A:B (or --from A --to B) is (A, B], each end the latest checkpoint at or \
            before it (the output says which steps were used); --last-vectors N is the shortest \
            window ending at the latest checkpoint that holds at least N vectors.
              density dense demo
              density dense demo --window -4:latest --threshold 0.1
              density dense demo --last-vectors 100000 --format csv > dense.csv
            JSON: {"run","from","to","vectors","threshold","dense":[{"component","feature","count","density"}]}; \
            the "component" key is present only for runs with components; from is null for start.
            CSV: feature,count,density (component,feature,count,density with components).
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @OptionGroup var window: WindowOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("Dense means window density at least this, in (0, 1].", valueName: "T"))
    var threshold: Double = DensitySummary.defaultDenseThreshold

    @OptionGroup var listing: ListingOptions

    func run() throws {
        let located = try store.openRun(runName)
        let (runInfo, report) = try located.store.read { snapshot in
            (try snapshot.run(named: located.run),
             try window.reading { try snapshot.denseFeatures(run: located.run, in: $0, threshold: threshold) })
        }
        let hasComponents = runInfo.components != nil
        switch listing.format {
        case .json:
            Console.out(QueryJSON.dense(run: runInfo, report: report).text + "\n")
        case .csv:
            Console.out(ListingOptions.csv(components: hasComponents, ["count", "density"], report.dense) { f in
                [String(f.count), "\(f.density)"]
            })
        case .table:
            let what = DenseFeature.noun(components: hasComponents)
            var text = window.heading(run: runName, report.window)
            text += "\(report.dense.count) of \(report.width) \(what) dense (window density >= \(Console.format(report.threshold))); \(report.window.vectors) vectors in the window\n"
            if !report.dense.isEmpty {
                text += "\n" + listing.table(components: hasComponents, ["count", "density"], report.dense) { f in
                    [String(f.count), Console.format(f.density)]
                }
            }
            Console.out(text)
        }
    }
}
