import ArgumentParser
import DensityStore
import DensityViews

/// `density runs`: list the runs.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs in the store, with their checkpoints and vectors seen.",
        discussion: """
            Example:
              density runs
              density runs --format json   # [{"name","features","components","checkpoints","latest_step","vectors","world_size","pending_steps","fire_threshold"}]
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func run() throws {
        let summaries = try store.openForReading().read { try $0.runs() }
        switch format {
        case .json:
            Console.out(QueryJSON.runs(summaries).text + "\n")
        case .csv:
            var text = "name,features,components,checkpoints,latest_step,vectors,world_size,pending_steps\n"
            for s in summaries {
                text += [Console.csvField(s.run.name), String(s.run.features), s.run.components.map(String.init) ?? "",
                         String(s.checkpointCount), s.latest.map { String($0.step) } ?? "",
                         String(s.latest?.vectors ?? 0), String(s.run.worldSize), String(s.pendingSteps)].joined(separator: ",") + "\n"
            }
            Console.out(text)
        case .table:
            if summaries.isEmpty {
                Console.message("no runs yet; create one with `density create RUN --features F`, or run `density demo`")
                return
            }
            // Ranks and pending steps only matter, and are only shown, when some run has several ranks.
            let ranked = summaries.contains { $0.run.worldSize > 1 }
            Console.out(Console.table(
                ["run", "features", "components", "checkpoints", "latest step", "vectors"] + (ranked ? ["ranks", "pending steps"] : []),
                summaries.map { s in
                    [s.run.name, String(s.run.features), s.run.components.map(String.init) ?? "-",
                     String(s.checkpointCount), s.latest.map { String($0.step) } ?? "-",
                     String(s.latest?.vectors ?? 0)] + (ranked ? [String(s.run.worldSize), String(s.pendingSteps)] : [])
                }))
        }
    }
}
