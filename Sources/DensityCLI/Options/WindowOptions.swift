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
        if let lastVectors, lastVectors <= 0 {
            throw ValidationError("--last-vectors must be a positive number of vectors, got \(lastVectors)")
        }
    }

    /// The window's bounds as steps for the store's queries (`to: nil` is the latest checkpoint),
    /// and how they were chosen, for the table's heading.
    /// - Throws: ``CLIError`` when A does not resolve before B; the store's errors for an unknown
    ///   run, a run without checkpoints, or a step before the first checkpoint.
    func resolve(in store: DensityStore, run: String) throws -> (from: Int64?, to: Int64?, how: String) {
        let steps = try store.checkpointSteps(run: run)  // says why a run has none
        if let lastVectors {
            let window = try store.recentWindow(run: run, holding: lastVectors)
            return (window.from, window.to, "the shortest window ending at the latest checkpoint with >= \(lastVectors) vectors")
        }
        guard let window else { return (nil, nil, "the whole run") }
        let end = try window.to.resolve(in: steps, run: run)!
        let start = try window.from.resolve(in: steps, run: run)
        let resolved = [(window.from, start), (window.to, end)].compactMap { spec, step in
            step.flatMap { step in spec == .exact(step) ? nil : "\(spec) -> step \(step)" }
        }
        let how = "--window \(window)" + (resolved.isEmpty ? "" : ": " + resolved.joined(separator: ", "))
        if let start, start >= end {
            let detail = resolved.isEmpty ? "" : " (" + resolved.joined(separator: ", ") + ")"
            throw CLIError("--window \(window): A must be before B, but they resolve to checkpoints \(start) and \(end)\(detail); choose an earlier A or a later B")
        }
        return (start, end, how)
    }
}

/// `--window A:B` as written: two step specs around a colon.
struct WindowSpec: Hashable, CustomStringConvertible {
    /// A: the window starts after it (`start`: the beginning of the run).
    var from: StepSpec
    /// B: the window ends at it.
    var to: StepSpec

    var description: String { "\(from):\(to)" }

    /// The window (from, to].
    init(from: StepSpec, to: StepSpec) {
        self.from = from
        self.to = to
    }

    /// Parses `A:B`; the error explains the expected form.
    init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else {
            throw CLIError("expected A:B, two steps around a colon, e.g. 1000:latest, start:-1 or -4:-1")
        }
        guard let from = StepSpec(argument: parts[0]) else {
            throw CLIError("A ('\(parts[0])') must be a step, start, first, latest or -K, e.g. 1000:latest")
        }
        guard let to = StepSpec(argument: parts[1]) else {
            throw CLIError("B ('\(parts[1])') must be a step, first, latest or -K, e.g. 1000:latest")
        }
        guard to != .start else { throw CLIError("B cannot be start: the window ends at a checkpoint, e.g. start:latest") }
        self.from = from
        self.to = to
    }
}
