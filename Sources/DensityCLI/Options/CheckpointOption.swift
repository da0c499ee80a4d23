import ArgumentParser
import DensityStore

/// `--step`: the one checkpoint a command reads (`show`, `compare`, `state`); the latest by default.
/// `start` is refused: it names the empty state before the first checkpoint.
struct CheckpointOption: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("A step, latest, first, or -K (K checkpoints before the latest).", valueName: "step"))
    var step: StepSpec = .latest

    func validate() throws {
        try step.requireCheckpoint(flag: "--step")
    }
}

extension StepSpec {
    /// Refuses `start` given with `flag` where a checkpoint is needed, naming the flag.
    func requireCheckpoint(flag: String) throws {
        if self == .start { throw ValidationError("\(flag) start names no checkpoint; use first, latest, -K or a step") }
    }
}
