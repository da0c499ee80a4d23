import ArgumentParser
import DensityStore

/// `density trend`: one feature over every checkpoint.
struct TrendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trend",
        abstract: "One feature's cumulative count and density at every checkpoint.",
        discussion: """
            Reads only the feature's chunk at each checkpoint, so it stays fast on wide runs.
              density trend demo --feature 7
              density trend multi --feature 7 --component 1 --format csv
            JSON: {"run","feature","component","points":[{"step","vectors","count","density"}]}
            CSV: step,vectors,count,density
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: "The feature, 0-based.")
    var feature: Int

    @Option(parsing: .unconditional, help: "The component, 0-based; only for runs with components.")
    var component: Int?

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func run() throws {
        let store = try store.openForReading()
        let runInfo = try store.run(named: runName)
        if component != nil, runInfo.components == nil {
            throw CLIError("run '\(runName)' has no components; leave out --component")
        }
        let points = try store.trend(run: runName, feature: feature, component: component ?? 0)
        if points.isEmpty { throw StoreError.noCheckpoint(run: runName, atOrBefore: nil) }
        switch format {
        case .json:
            Console.out(JSONValue.object([
                ("run", .string(runName)), ("feature", .int(feature)),
                ("component", runInfo.components == nil ? .null : .int(component ?? 0)),
                ("points", .array(points.map { p in
                    .object([("step", .int(p.step)), ("vectors", .int(p.vectors)), ("count", .int(p.count)),
                             ("density", .double(p.density))])
                })),
            ]).text + "\n")
        case .csv:
            Console.out("step,vectors,count,density\n"
                + points.map { "\($0.step),\($0.vectors),\($0.count),\($0.density)\n" }.joined())
        case .table:
            Console.out(Console.table(
                ["step", "vectors", "count", "density"],
                points.map { [String($0.step), String($0.vectors), String($0.count), Console.format($0.density)] }))
        }
    }
}
