import ArgumentParser
import DensityFormats
import DensityMetric
import DensityStore

/// `density checkpoint`: store a state saved by a PyTorch training loop.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Store a torchmetrics state file (.safetensors) as the run's checkpoint at a step.",
        discussion: """
            The file holds the metric's state under its torchmetrics names, as a PyTorch loop saves it:
              from safetensors.torch import save_file
              save_file({"neuron_fired_count": m.neuron_fired_count.long(),
                         "num_activation_vectors": m.num_activation_vectors}, "state-500.safetensors")
              density checkpoint l1-1e-3 --step 500 state-500.safetensors
            neuron_fired_count: float32, float64, int32 or int64, shape [features] or [components, \
            features]; float counts must be whole (float32 past 2^24 is accepted with a warning). \
            num_activation_vectors: int64, shape [] or [1]. Without --step, an int64 'step' tensor \
            in the file gives the step. The state is cumulative: it must not be below the run's \
            latest checkpoint. Nothing is stored when anything is wrong.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: "The training step; else the file's 'step' tensor.")
    var step: Int64?

    @Argument(help: ArgumentHelp("The state file.", valueName: "file.safetensors"))
    var file: String

    func validate() throws {
        if let step, step < 0 { throw ValidationError("--step must be >= 0, got \(step)") }
    }

    func run() throws {
        let torch = try TorchMetricsState(file: SafetensorsFile(path: file))
        guard let step = step ?? torch.step else {
            throw CLIError("'\(file)' has no 'step' tensor: pass --step STEP")
        }
        let store = try store.openForWriting()
        let run = try store.run(named: runName)
        let latest = try store.checkpoints(run: runName).last
        let state: DensityState
        do {
            // torchmetrics keeps no non-finite count: the run's is carried forward.
            state = try torch.state(features: run.features, components: run.components, nonFinite: latest?.nonFinite ?? 0)
        } catch let error as DensityError {
            throw CLIError("'\(file)': \(error) (run '\(runName)' has \(run.describeShape))")
        }
        for warning in torch.warnings { Console.message("warning: " + warning) }
        let checkpoint = try store.appendCheckpoint(run: runName, step: step, state: state)
        Console.message("run '\(runName)': checkpoint at step \(checkpoint.step), \(checkpoint.vectors) vectors, from \(file)")
    }
}
