import ArgumentParser
import DensityFormats
import DensityMetric
import DensityStore

/// `density resume`: where a restarted training run continues from.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Print the step a restarted run resumes its metric state from.",
        discussion: """
            Prints the checkpoint step on stdout (for scripts) and an account on stderr. When training \
            restarts from an older model checkpoint, pass --at with its step and --discard-later to \
            delete the metric checkpoints after it (atomically), so those steps can be recorded again.
              density resume demo
              density resume demo --at 3000 --discard-later
              density resume demo --at -3 --discard-later   # three checkpoints before the latest
            --state-out FILE also writes the state resumed from, as `density state --dtype int64` \
            does, read in the same transaction as the discard.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Resume from this checkpoint: a step (the latest checkpoint at or before it), latest, first, or -K. Default: latest.",
        valueName: "step"))
    var at: StepSpec = .latest

    func validate() throws {
        try at.requireCheckpoint(flag: "--at")
    }

    @Flag(help: "Delete the checkpoints after the resume point.")
    var discardLater = false

    @Option(help: ArgumentHelp("Also write the state resumed from (int64 counts) to this .safetensors file.", valueName: "file"))
    var stateOut: String?

    func run() throws {
        let target = try stateOut.map { try ExportTarget(path: $0, force: true, binary: true, option: "--state-out") }
        let store = discardLater ? try store.openForWriting() : try store.openForReading()
        let resumed = try store.resume(run: runName, at: at, discardLater: discardLater)
        if let target {
            let writer = try StateCommand.writer(run: runName, checkpoint: resumed.checkpoint, state: resumed.state, dtype: .int64)
            _ = try target.write { file in try writer.write { try file.append($0) } }
        }
        Console.out("\(resumed.checkpoint.step)\n")
        var message = "run '\(runName)' resumes from step \(resumed.checkpoint.step) (vectors \(resumed.state.vectors))"
        if discardLater {
            message += resumed.later == 0 ? "; no later checkpoints to discard" : "; discarded \(resumed.later) later checkpoint(s)"
        } else if resumed.later > 0 {
            message += "; \(resumed.later) later checkpoint(s) kept — pass --discard-later to delete them before recording those steps again"
        }
        Console.message(message)
    }
}
