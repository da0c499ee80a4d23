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
            latest checkpoint. Storing the same state at the same step again changes nothing. \
            With --rank R --world-size W, the file is one rank's partial state: the step becomes a \
            checkpoint (the ranks' sum) once every rank has stored it. Nothing is stored when \
            anything is wrong.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: "The training step; else the file's 'step' tensor.")
    var step: Int64?

    @OptionGroup var ranks: RankOptions

    @Argument(help: ArgumentHelp("The state file.", valueName: "file.safetensors"))
    var file: String

    func validate() throws {
        if let step, step < 0 { throw ValidationError("--step must be >= 0, got \(step)") }
    }

    func run() throws {
        let torch = try TorchMetricsState(file: SafetensorsFile(path: file))
        let recorder = try StateRecorder(store: store.openForWriting(), runName: runName, rank: ranks.value)
        let outcome = try recorder.record(torch, step: step, source: file)
        Console.message(StateRecorder.describe(outcome, run: runName, source: file))
    }
}
