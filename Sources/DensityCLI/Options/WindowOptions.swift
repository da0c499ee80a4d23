import ArgumentParser
import DensityStore

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
    }

    /// The window's bounds as steps for the store's queries (`to: nil` is the latest checkpoint),
    /// and how they were chosen, for the table's heading.
    /// - Throws: ``CLIError`` when A does not resolve before B; the store's errors for an unknown
    ///   run, a run without checkpoints, or a step that names no checkpoint.
    func resolve(in store: DensityStore, run: String) throws -> (from: Int64?, to: Int64?, how: String) {
        if let lastVectors {
            _ = try store.checkpointSteps(run: run)  // says why a run has none
            let window = try store.recentWindow(run: run, holding: lastVectors)
            return (window.from, window.to, "the shortest window ending at the latest checkpoint with >= \(lastVectors) vectors")
        }
        let resolved = try spelling.resolve(in: store, run: run).window
        guard let window else { return (nil, nil, "the whole run") }
        let notes = [(window.from, resolved.from), (window.to, resolved.to)].compactMap { spec, step in
            step.flatMap { step in spec == .exact(step) ? nil : "\(spec) -> step \(step)" }
        }
        return (resolved.from, resolved.to, "--window \(window)" + (notes.isEmpty ? "" : ": " + notes.joined(separator: ", ")))
    }
}
