import ArgumentParser
import DensityStore
import DensityViews

/// `--window A:B` (or `--from A --to B`) or `--last-vectors N`: the window (A, B] of a run's
/// checkpoints a query looks at; the whole run, (start, latest], by default.
struct WindowOptions: ParsableArguments {
    @OptionGroup var spelling: WindowSpelling

    /// The window as written, in either spelling.
    var window: WindowSpec? { spelling.spec }

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Instead of --window: the shortest window ending at the latest checkpoint that holds at least N activation vectors.",
            valueName: "N"))
    var lastVectors: Int64?

    func validate() throws {
        if window != nil, lastVectors != nil {
            throw ValidationError("give --window (or --from/--to) or --last-vectors, not both")
        }
        if let lastVectors, lastVectors <= 0 {
            throw ValidationError("--last-vectors must be a positive number of vectors, got \(lastVectors)")
        }
    }

    /// The window's bounds as steps for the store's queries (`to: nil` is the latest checkpoint),
    /// and how they were chosen, for the table's heading.
    /// - Throws: ``CLIError`` when A does not resolve before B; the store's errors for an unknown
    ///   run, a run without checkpoints, or a step before the first checkpoint.
    func resolve(in store: DensityStore, run: String) throws -> (from: Int64?, to: Int64?, how: String) {
        try store.resolveWindow(run: run, window: window, lastVectors: lastVectors)
    }
}
