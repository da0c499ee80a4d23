import ArgumentParser
import DensityFormats
import DensityMetric
import DensityStore

/// `density checkpoint`: store a state saved by a PyTorch or numpy training loop.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Store a saved metric state (.safetensors, .npz, a .npy pair, or SAELens sparsity) as a checkpoint.",
        discussion: """
            The file holds the metric's state under its torchmetrics names, as a PyTorch loop saves it:
              from safetensors.torch import save_file
              save_file({"neuron_fired_count": m.neuron_fired_count.long(),
                         "num_activation_vectors": m.num_activation_vectors}, "state-500.safetensors")
              density checkpoint l1-1e-3 --step 500 state-500.safetensors
            or as numpy saves it: np.savez("state-500.npz", neuron_fired_count=c, \
            num_activation_vectors=n) (savez_compressed too), or two .npy files, counts then vectors:
              density checkpoint l1-1e-3 --step 500 neuron_fired_count.npy num_activation_vectors.npy
            neuron_fired_count: float32, float64 or integer, shape [features] or [components, \
            features]; float counts must be whole (float32 past 2^24 is accepted with a warning). \
            num_activation_vectors: an integer, shape [] or [1]. Without --step, an integer 'step' \
            tensor in the file gives the step. The state is cumulative: it must not be below the \
            run's latest checkpoint. Storing the same state at the same step again changes nothing. \
            With --rank R --world-size W, the file is one rank's partial state: the step becomes a \
            checkpoint (the ranks' sum) once every rank has stored it.
            SAELens: --saelens-vectors N reads a SAELens sparsity.safetensors ("sparsity", \
            log10(density + 1e-10)) whose densities were measured over N activation vectors; the \
            counts round(density * N) are added to the run's latest checkpoint, and the checkpoint \
            is marked approximate:
              density checkpoint l1-1e-3 --step 20000 --saelens-vectors 4096000 sparsity.safetensors
            Nothing is stored when anything is wrong.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: "The training step; else the file's 'step' tensor.")
    var step: Int64?

    @OptionGroup var ranks: RankOptions

    @Option(help: ArgumentHelp(
        "Read a SAELens sparsity.safetensors whose densities were measured over this many activation vectors.",
        valueName: "n"))
    var saelensVectors: Int64?

    @Argument(help: ArgumentHelp("The state file (.safetensors or .npz), or counts.npy and vectors.npy.", valueName: "file"))
    var files: [String]

    func validate() throws {
        if let step { try ErrorText.validating { try DensityStore.checkStep(step) } }
        guard (1...2).contains(files.count) else {
            throw ValidationError("pass one state file, or two .npy files (neuron_fired_count.npy num_activation_vectors.npy); got \(files.count)")
        }
        if files.count == 2, !files.allSatisfy({ $0.lowercased().hasSuffix(".npy") }) {
            throw ValidationError("two files must be a .npy pair: the counts, then the vector count")
        }
        if let saelensVectors {
            guard saelensVectors > 0 else { throw ValidationError("--saelens-vectors must be > 0, got \(saelensVectors)") }
            guard files.count == 1 else { throw ValidationError("--saelens-vectors reads one sparsity.safetensors file") }
            guard ranks.value == nil else { throw ValidationError("--saelens-vectors cannot be combined with --rank") }
        }
    }

    func run() throws {
        let recorder = try StateRecorder(store: store.openForWriting(), runName: runName, rank: ranks.value)
        let source = files.joined(separator: " + ")
        let outcome: RecordOutcome
        if let saelensVectors {
            outcome = try recordSAELens(recorder, vectors: saelensVectors)
        } else if files.count == 2 {
            outcome = try recorder.record(TorchMetricsState(npyCounts: files[0], npyVectors: files[1]), step: step, source: source)
        } else {
            outcome = try recorder.record(StateFile(path: files[0]).read(), step: step, source: source)
        }
        Console.message(StateRecorder.describe(outcome, run: runName, source: source))
    }

    /// A SAELens window on top of the run's latest checkpoint, marked approximate.
    private func recordSAELens(_ recorder: StateRecorder, vectors: Int64) throws -> RecordOutcome {
        guard let step else { throw CLIError("a SAELens file has no step: pass --step STEP") }
        let run = recorder.run
        guard run.components == nil else {
            throw CLIError("run '\(runName)' has \(run.components!) components; a SAELens sparsity file holds one [features] vector, so import it into a run without components")
        }
        let sparsity = try SAELensSparsity(path: files[0])
        guard sparsity.log10Densities.count == run.features else {
            throw CLIError("'\(files[0])': \"sparsity\" has \(sparsity.log10Densities.count) features, but run '\(runName)' has \(run.features)")
        }
        let estimate = try sparsity.estimate(vectors: vectors)
        var state = try DensityState(features: run.features, components: nil, counts: estimate.counts, vectors: estimate.vectors)
        if step > 0, let before = try recorder.store.read({ snapshot in
            do { return try snapshot.state(run: runName, at: .exact(step - 1)) } catch is SelectionError { return nil }
        }) {
            state = try state.merged(with: before.state)
        }
        Console.message("note: counts are round(density * \(vectors)); largest difference from the file's densities \(Console.format(estimate.maxDensityError)); the checkpoint is marked approximate")
        return try recorder.store.record(run: runName, step: step, state: state, approximate: true)
    }
}
