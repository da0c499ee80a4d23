import ArgumentParser
import DensityStore
import DensityViews

/// `density`: the full history of SAE feature density, kept in SQLite.
@main
struct DensityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "density",
        abstract: "Keep the full history of sparse-autoencoder feature density in SQLite.",
        discussion: """
            A run's state is two numbers that only grow: per (component, feature) how many \
            activation vectors it fired on (> the run's fire threshold, 0 by default), and how many \
            vectors were seen. density checkpoints that state per training step, exactly, so a \
            crashed run resumes with its exact metric and any window of steps can be diffed.

            Start with `density demo`, then try the commands it suggests.
            The store is --db PATH, else $DENSITY_DB, else ./density.sqlite.
            Feature and component indexes are 0-based, as in PyTorch.
            """,
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, CreateCommand.self, RunsCommand.self, IngestCommand.self,
            ShowCommand.self, DiffCommand.self, TrendCommand.self, DeadCommand.self, DenseCommand.self,
            HistogramCommand.self, ExportCommand.self, CompareCommand.self, ResumeCommand.self,
            ReportCommand.self, WatchCommand.self, ServeCommand.self, CheckpointCommand.self, ImportCommand.self, RecordCommand.self, MergeCommand.self, StateCommand.self, CompactCommand.self, MigrateCommand.self,
            VerifyCommand.self, HistoryCommand.self, SummariesCommand.self,
        ]
    )

    @OptionGroup var store: StoreOptions

    /// The exit status of a command that found the run but no checkpoint in it yet, so that a
    /// script can tell "nothing recorded yet" from every other failure (1) and from a usage error (64).
    static let noCheckpointExitCode: Int32 = 3

    /// Parses and runs the command; SQLite failures are explained (``StoreFailure``) before exiting,
    /// and a missing checkpoint exits with ``noCheckpointExitCode``.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if Self.meansNoCheckpointYet(error) {
                Console.message("Error: \(ErrorText.render(error))")
                exit(withError: ExitCode(noCheckpointExitCode))
            }
            exit(withError: StoreFailure.explain(ErrorText.render(error)))
        }
    }

    /// Whether `error` says the run holds no checkpoint at all yet (not: none at or before a step).
    static func meansNoCheckpointYet(_ error: any Error) -> Bool {
        switch error {
        case SelectionError.noCheckpointYet: true
        default: false
        }
    }
}
