import ArgumentParser
import Foundation
import DensityMetric
import DensityStore
import DensityViews

/// `density show`: a run's health at one checkpoint.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Summarize a run at a checkpoint: vectors, mean density, dead and dense features.",
        discussion: """
            Dead: count 0 since the start. Dense: cumulative density >= 1e-2. A step that is not a \
            checkpoint resolves to the latest checkpoint at or before it; the output says which.
              density show demo
              density show demo --step 2500 --format json
            JSON: {"run","step","vectors","features","components","mean_density","dead","dense","non_finite",\
            "approximate","world_size","pending_steps":[{"step","ranks"}]}
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @OptionGroup var stepOption: CheckpointOption

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func run() throws {
        // The summary stored with the checkpoint: no counts are decoded.
        let located = try store.openRun(runName)
        let overview = try located.store.read { try $0.overview(run: located.run, at: stepOption.step) }
        let (runInfo, checkpoint, summary, pending) = (overview.run, overview.checkpoint, overview.summary, overview.pending)
        switch format {
        case .json:
            Console.out(QueryJSON.show(run: runInfo, checkpoint: checkpoint, summary: summary, pending: pending).text + "\n")
        case .csv:
            Console.out("run,step,vectors,features,components,mean_density,dead,dense,non_finite,approximate,world_size,pending_steps\n"
                + [Console.csvField(runName), String(checkpoint.step), String(summary.vectors), String(runInfo.features),
                   runInfo.components.map(String.init) ?? "", "\(summary.meanDensity)", String(summary.dead),
                   String(summary.dense), String(summary.nonFinite), String(checkpoint.approximate),
                   String(runInfo.worldSize), String(pending.count)].joined(separator: ",") + "\n")
        case .table:
            let width = Double(summary.width)
            var rows: [[String]] = [
                ["run", runName],
                ["step", "\(checkpoint.step)\(stepOption.step.note(resolvedTo: checkpoint.step))"],
                ["vectors", String(summary.vectors)],
                ["features", runInfo.components.map { "\(runInfo.features) x \($0) components" } ?? String(runInfo.features)],
                ["fire threshold", "\(runInfo.fireThreshold)"],
                ["mean density", Console.format(summary.meanDensity)],
                ["dead (count 0)", "\(summary.dead) (\(Console.format(100 * Double(summary.dead) / width))%)"],
                ["dense (>= 1e-2)", "\(summary.dense) (\(Console.format(100 * Double(summary.dense) / width))%)"],
                ["non-finite", String(summary.nonFinite)],
            ]
            if summary.nonFinite > 0 { rows.append(["warning", "NaN/inf activations were seen: the run may be diverging"]) }
            if checkpoint.approximate {
                rows.append(["approximate", "yes: counts derived from densities (an imported SAELens file), rounded"])
            }
            if runInfo.worldSize > 1 {
                rows.append(["ranks", "\(runInfo.worldSize) (each step is the sum of every rank's state)"])
                for step in pending.prefix(5) {
                    rows.append(["pending", step.waiting])
                }
                if pending.count > 5 { rows.append(["pending", "… \(pending.count - 5) more steps"]) }
            }
            Console.out(rows.map { $0[0].padding(toLength: 17, withPad: " ", startingAt: 0) + $0[1] }
                .joined(separator: "\n") + "\n")
        }
    }
}
