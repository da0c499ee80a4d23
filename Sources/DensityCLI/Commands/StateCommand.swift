import ArgumentParser
import DensityFormats
import DensityMetric
import DensityStore
import Foundation
import DensityViews

/// `density state`: the metric state for a PyTorch loop to resume from.
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Write a run's metric state at a step as a torchmetrics-compatible .safetensors file.",
        discussion: """
            The file holds neuron_fired_count ([features] or [components, features]) and \
            num_activation_vectors (int64, shape []), the names of torchmetrics' FeatureDensityMetric \
            state, and step (int64, shape []), so `density checkpoint` and `density import` take the \
            file back as it is; the step and run are also in the file's metadata. load_state_dict \
            with strict=False ignores the step. float32 is the metric's own dtype (and \
            the default); counts above 2^24 are not exact in float32, so a warning then advises int64.
              density state l1-1e-3 --out state.safetensors
              density state l1-1e-3 --step 500 --dtype int64 --out state-500.safetensors
            In PyTorch:
              from safetensors.torch import load_file
              metric.load_state_dict(load_file("state.safetensors"), strict=False)
            """
    )

    /// The dtype of `neuron_fired_count` in the file.
    enum CountType: String, ExpressibleByArgument, CaseIterable {
        case float32, int64
    }

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @OptionGroup var stepOption: CheckpointOption

    @Option(help: "The .safetensors file to write, or - for stdout (not a terminal).")
    var out: String

    @Option(help: "float32 (torchmetrics' own dtype) or int64 (exact at any count).")
    var dtype: CountType = .float32

    @Flag(help: "Replace --out if it exists.")
    var force = false

    func run() throws {
        let target = try ExportTarget(path: out, force: force, binary: true)  // checked before any work
        let located = try store.openRun(runName)
        let (checkpoint, state) = try located.store.read { try $0.state(run: located.run, at: stepOption.step) }
        let writer = try Self.writer(run: runName, checkpoint: checkpoint, state: state, dtype: dtype)
        _ = try target.write { file in
            try writer.write { try file.append($0) }
        }
        Console.message("wrote the state of run '\(runName)' at step \(checkpoint.step) (\(state.vectors) vectors, \(dtype.rawValue) counts) to \(target.name)\(target.note)")
    }

    /// The file `state` writes: the counts in `dtype`, the vectors and the step, with the run and
    /// step in the metadata; warns when float32 rounds a count.
    static func writer(run: String, checkpoint: Checkpoint, state: DensityState, dtype: CountType) throws -> SafetensorsWriter {
        var writer = SafetensorsWriter(metadata: ["run": run, "step": String(checkpoint.step), "writer": "density state"])
        switch dtype {
        case .float32:
            if let largest = state.counts.max(), largest > 1 << 24 {
                Console.message("warning: counts up to \(largest) are above 2^24 = 16,777,216 and are rounded in float32; pass --dtype int64 to keep them exact")
            }
            try writer.add(TorchMetricsState.countsName, shape: state.shape, values: .float32(state.counts.map { Float($0) }))
        case .int64:
            try writer.add(TorchMetricsState.countsName, shape: state.shape, values: .int64(state.counts))
        }
        try writer.add(TorchMetricsState.vectorsName, shape: [], values: .int64([state.vectors]))
        // The step as a tensor too, so that `checkpoint` and `import` read the file back as it is.
        try writer.add(TorchMetricsState.stepName, shape: [], values: .int64([checkpoint.step]))
        return writer
    }
}
