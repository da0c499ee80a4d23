import ArgumentParser
import DensityFormats
import DensityMetric
import DensityStore
import Foundation
import DensityViews

/// `density summaries`: the summary stored with every checkpoint, over training, for notebooks,
/// TensorBoard and W&B.
struct SummariesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summaries",
        abstract: "Every checkpoint's stored summary: vectors, dead, dense, mean density and the 50-bin histogram.",
        discussion: """
            Read in one transaction from the summaries stored with each checkpoint, so no counts are \
            decoded (a checkpoint stored without one is summarized from its counts).
              density summaries demo
              density summaries demo --format csv > summaries.csv
            Dead: count 0 since the start. Dense: density >= 1e-2. histogram: features per bin of \
            log10(density + 1e-10), 50 bins of 0.2 over [-10, 0] (edges); the first holds the dead \
            features. mean_log10_density is the mean of log10(density + 1e-10) from the histogram: \
            dead features at -10, the others at their bin's midpoint (within 0.1 of the exact mean). \
            A checkpoint with no vectors has null densities.
            JSON, one array per column: {"run","features","components","edges":[51],"step":[...],\
            "vectors","non_finite","dead","dense","mean_density","mean_log10_density","histogram":[[50],...]}.
            CSV: step,vectors,non_finite,dead,dense,mean_density,mean_log10_density, then one column per bin.
            safetensors (with --out FILE, or - for stdout): the same columns as tensors (I64; F64 for \
            the means, NaN for null; histogram I64 [checkpoints, 50]; edges F64 [51]); __metadata__ \
            holds run, features and components.
              density summaries demo --format safetensors --out summaries.safetensors
            """
    )

    /// The output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, csv, safetensors
    }

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(help: "json, csv or safetensors.")
    var format: Format = .json

    @Option(help: ArgumentHelp("With --format safetensors: the file to write, or - for stdout.", valueName: "file"))
    var out: String?

    @Flag(help: "Replace --out if it exists.")
    var force = false

    func validate() throws {
        if format == .safetensors, out == nil { throw ValidationError("--format safetensors needs --out FILE (or --out - for stdout)") }
        if format != .safetensors, out != nil { throw ValidationError("--out is for --format safetensors; json and csv print to stdout") }
    }

    func run() throws {
        let target = try out.map { try ExportTarget(path: $0, force: force, binary: true) }  // checked before any work
        let located = try store.openRun(runName)
        let (runInfo, summaries) = try located.store.read { snapshot in
            let summaries = try snapshot.summaries(run: located.run)
            guard !summaries.isEmpty else { throw try snapshot.noCheckpointYet(run: located.run) }
            return (try snapshot.run(named: located.run), summaries)
        }
        let means = summaries.map { $0.summary.vectors > 0 ? $0.summary.meanDensity : nil }
        let logs = summaries.map(\.summary.binnedMeanLog10Density)
        switch format {
        case .safetensors:
            var writer = SafetensorsWriter(metadata: ["run": runName, "features": String(runInfo.features),
                                                      "components": runInfo.components.map(String.init) ?? ""])
            try writer.add("step", shape: [summaries.count], values: .int64(summaries.map(\.checkpoint.step)))
            try writer.add("vectors", shape: [summaries.count], values: .int64(summaries.map(\.summary.vectors)))
            try writer.add("non_finite", shape: [summaries.count], values: .int64(summaries.map(\.summary.nonFinite)))
            try writer.add("dead", shape: [summaries.count], values: .int64(summaries.map { Int64($0.summary.dead) }))
            try writer.add("dense", shape: [summaries.count], values: .int64(summaries.map { Int64($0.summary.dense) }))
            try writer.add("mean_density", shape: [summaries.count], values: .float64(means.map { $0 ?? .nan }))
            try writer.add("mean_log10_density", shape: [summaries.count], values: .float64(logs.map { $0 ?? .nan }))
            try writer.add("histogram", shape: [summaries.count, DensitySummary.storedBins],
                           values: .int64(summaries.flatMap { $0.summary.histogram.map(Int64.init) }))
            try writer.add("edges", shape: [DensitySummary.storedBins + 1],
                           values: .float64(QueryJSON.histogramEdges(DensitySummary.storedBins)))
            let bytes = try target!.write { file in try writer.write { try file.append($0) } }
            Console.message("run '\(runName)': summaries of \(summaries.count) checkpoints -> \(target!.name) (safetensors, \(bytes) bytes\(target!.note))")
        case .json:
            Console.out(QueryJSON.summaries(run: runInfo, summaries).text + "\n")
        case .csv:
            var text = "step,vectors,non_finite,dead,dense,mean_density,mean_log10_density,"
                + (0..<DensitySummary.storedBins).map { "bin\($0)" }.joined(separator: ",") + "\n"
            for (index, (checkpoint, summary)) in summaries.enumerated() {
                text += [String(checkpoint.step), String(summary.vectors), String(summary.nonFinite), String(summary.dead),
                         String(summary.dense), means[index].map { "\($0)" } ?? "", logs[index].map { "\($0)" } ?? ""]
                    .joined(separator: ",") + "," + summary.histogram.map(String.init).joined(separator: ",") + "\n"
            }
            Console.out(text)
        }
    }
}
