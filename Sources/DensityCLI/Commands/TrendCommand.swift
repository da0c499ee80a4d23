import ArgumentParser
import DensityStore
import Foundation
import DensityViews

/// `density trend`: one feature over every checkpoint.
struct TrendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trend",
        abstract: "One feature's density at every checkpoint: cumulative, and over each window between points.",
        discussion: """
            Reads only the feature's chunk at each checkpoint, so it stays fast on wide runs. The \
            table ends with a sparkline of the window densities on a log scale (blank: no firing).
            Thinning keeps the first and the last checkpoint and is deterministic: --every K keeps \
            every K-th checkpoint, --points N about N evenly spaced ones; window densities are then \
            between the points kept.
              density trend demo --feature 7
              density trend demo --feature 7 --points 20
              density trend multi --feature 7 --component 1 --format csv
            JSON: {"run","feature","component","points":[{"step","vectors","count","density","window_density"}]}
            (window_density is null for the first point). CSV: step,vectors,count,density,window_density
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: "The feature, 0-based.")
    var feature: Int

    @Option(parsing: .unconditional, help: "The component, 0-based: required for runs with components, refused for others.")
    var component: Int?

    @Option(help: "Keep every K-th checkpoint (and the last).")
    var every: Int?

    @Option(help: "Keep about N evenly spaced checkpoints (including the first and the last).")
    var points: Int?

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    @OptionGroup var drawing: SVGOptions

    func validate() throws {
        if every != nil && points != nil { throw ValidationError("give --every or --points, not both") }
        if let every, every < 1 { throw ValidationError("--every must be >= 1, got \(every)") }
        if let points, points < 2 { throw ValidationError("--points must be >= 2 (the first and the last), got \(points)") }
    }

    func run() throws {
        let located = try store.openRun(runName)
        let (runInfo, component, all) = try located.store.read { snapshot in
            let runInfo = try snapshot.run(named: located.run)
            let component = try ComponentChoice.resolve(self.component, of: runInfo, why: "a trend follows one (component, feature) pair")
            let all = try snapshot.trend(run: located.run, feature: feature, component: component)
            if all.isEmpty { throw try snapshot.noCheckpointYet(run: located.run) }
            return (runInfo, component, all)
        }
        let kept = Self.thin(all.count, every: every, points: points).map { all[$0] }
        let windows = Self.windowDensities(kept)
        if let svg = try drawing.target() {
            let label = runInfo.components == nil ? "\(feature)" : "\(component):\(feature)"
            try ReportPanels.write(ReportPanels.trend(run: runName, feature: label, points: kept, windows: windows),
                                   to: svg)
        }
        switch format {
        case .json:
            Console.out(QueryJSON.trend(run: runInfo, feature: feature, component: component, points: kept, windows: windows).text + "\n")
        case .csv:
            Console.out("step,vectors,count,density,window_density\n" + zip(kept, windows).map { p, window in
                "\(p.step),\(p.vectors),\(p.count),\(p.density),\(window.map { "\($0)" } ?? "")\n"
            }.joined())
        case .table:
            var text = Console.table(
                ["step", "vectors", "count", "density", "window density"],
                zip(kept, windows).map { p, window in
                    [String(p.step), String(p.vectors), String(p.count), Console.format(p.density),
                     window.map(Console.format) ?? "-"]
                })
            if kept.count < all.count { text += "(\(kept.count) of \(all.count) checkpoints)\n" }
            text += "window density, log scale: " + Self.sparkline(windows.compactMap { $0 }) + "\n"
            Console.out(text)
        }
    }

    /// The indexes kept out of `count` points (``TrendThinning/thin(_:every:points:)``).
    static func thin(_ count: Int, every: Int?, points: Int?) -> [Int] {
        TrendThinning.thin(count, every: every, points: points)
    }

    /// The density between consecutive points (``TrendThinning/windowDensities(_:)``).
    static func windowDensities(_ points: [TrendPoint]) -> [Double?] {
        TrendThinning.windowDensities(points)
    }

    /// Eight levels of log10(density) between the smallest and largest non-zero value; a space for 0.
    static func sparkline(_ values: [Double]) -> String {
        Sparkline.draw(values.map { $0 > 0 ? log10($0) : nil })
            ?? String(repeating: " ", count: values.count) + "(never fired)"
    }
}
