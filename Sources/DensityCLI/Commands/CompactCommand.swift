import ArgumentParser
import DensityStore

/// `density compact`: drop intermediate checkpoints, losslessly for every kept window.
struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Drop intermediate checkpoints of a run and reclaim their space.",
        discussion: """
            Keeps the first checkpoint, every checkpoint whose step is a multiple of --keep-every, and \
            the last --keep-last. Counts are cumulative, so the state at every kept step, and every \
            window between kept steps, stays exactly as it was. One transaction: a crash changes nothing.
              density compact demo --keep-every 1000
              density compact l1-1e-3 --keep-every 5000 --keep-last 100
              density compact l1-1e-3 --keep-every 1000 --through -100   # the last 100 checkpoints stay as they are
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(help: "Keep the checkpoints whose step is a multiple of this.")
    var keepEvery: Int64

    @Option(help: "Also keep this many of the latest checkpoints (at least 1).")
    var keepLast: Int = 1

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Compact only up to this checkpoint and keep every later one: a step, latest, first, or -K. Default: latest.",
        valueName: "step"))
    var through: StepSpec = .latest

    func validate() throws {
        try through.requireCheckpoint(flag: "--through")
        try ErrorText.validating { try DensityStore.checkCompaction(keepEvery: keepEvery, keepLast: keepLast) }
    }

    func run() throws {
        let report = try store.openForWriting().compact(run: runName, keepEvery: keepEvery, keepLast: keepLast,
                                                             through: through)
        let megabytes = { (bytes: Int64) in Console.format(Double(bytes) / 1_048_576) }
        Console.message("""
            run '\(runName)': kept \(report.keptSteps.count) checkpoints, dropped \(report.dropped), \
            re-encoded \(report.reencoded); store \(megabytes(report.bytesBefore)) MB -> \(megabytes(report.bytesAfter)) MB
            """)
    }
}
