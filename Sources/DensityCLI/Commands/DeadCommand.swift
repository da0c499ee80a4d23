import ArgumentParser
import DensityStore
import DensityViews

/// `density dead`: the features dead in a window, when each last fired, and those that revived.
struct DeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead",
        abstract: "List the features dead in a window of steps, the step each last fired at, and the features that revived.",
        discussion: """
            Dead: no firing in the window (count 0), or with --threshold T a window density below T. \
            The window is the whole run by default; --window A:B (or --from A --to B) is (A, B], each end the latest \
            checkpoint at or before it (the output says which steps were used); --last-vectors N is \
            the shortest window ending at the latest checkpoint that holds at least N vectors.
            last fired step: the last checkpoint, up to the window's end, at which the feature's \
            count grew (it fired in the interval ending there); null (never) if it never fired.
            Revived: dead in the previous window (the same length in steps, ending where this one \
            starts; see diff) and not dead in this one.
              density dead demo
              density dead demo --window 5000:latest --limit 0
              density dead demo --last-vectors 100000 --threshold 1e-5 --format json
            JSON: {"run","from","to","vectors","threshold","dead":[{"component","feature","last_fired_step"}],"revived":[...]}; \
            the "component" key is present only for runs with components; from is null for start; \
            threshold is null for count 0; revived is null when there is no window before.
            CSV: feature,last_fired_step (component,feature,last_fired_step with components), the \
            dead features only; last_fired_step is empty when never.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @OptionGroup var window: WindowOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("Dead means window density below this, in (0, 1], instead of count 0.", valueName: "T"))
    var threshold: Double?

    @OptionGroup var listing: ListingOptions

    func run() throws {
        let located = try store.openRun(runName)
        let (runInfo, report) = try located.store.read { snapshot in
            (try snapshot.run(named: located.run),
             try window.reading { try snapshot.deadFeatures(run: located.run, in: $0, threshold: threshold) })
        }
        let hasComponents = runInfo.components != nil
        switch listing.format {
        case .json:
            Console.out(QueryJSON.dead(run: runInfo, report: report).text + "\n")
        case .csv:
            Console.out(ListingOptions.csv(components: hasComponents, ["last_fired_step"], report.dead) { f in
                [f.lastFiredStep.map(String.init) ?? ""]
            })
        case .table:
            let rule = report.threshold.map { "window density < \(Console.format($0))" } ?? "no firing in the window"
            let what = DeadFeature.noun(components: hasComponents)
            var text = window.heading(run: runName, report.window)
            text += "\(report.dead.count) of \(report.width) \(what) dead (\(rule)); \(report.window.vectors) vectors in the window\n"
            if !report.dead.isEmpty { text += "\n" + table(report.dead, components: hasComponents) }
            text += "\n"
            if let revived = report.revived, let previous = report.previous {
                text += "\(revived.count) of \(report.width) \(what) revived: dead in \(WindowOptions.describe(previous)) (\(previous.vectors) vectors) but not in \(WindowOptions.describe(report.window))\n"
                if !revived.isEmpty { text += "\n" + table(revived, components: hasComponents) }
            } else {
                text += report.window.from == nil
                    ? "revived: none to report (the window starts at the start of the run; pass --window A:B)\n"
                    : "revived: none to report (the window before holds no vectors)\n"
            }
            Console.out(text)
        }
    }

    /// Up to `--limit` features as a table, with a note when some are left out.
    func table(_ features: [DeadFeature], components: Bool) -> String {
        listing.table(components: components, ["last fired step"], features) { [$0.lastFiredStep.map(String.init) ?? "never"] }
    }
}
