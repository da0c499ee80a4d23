import ArgumentParser
import DensityStore

/// The two spellings of a window (A, B], accepted by every command that reads one (`dead`,
/// `dense`, `diff`, `histogram`, `export`): `--window A:B`, or `--from A [--to B]` (B defaults
/// to latest). Giving both is refused.
struct WindowSpelling: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The window (A, B]: each a step (the latest checkpoint at or before it), first, latest or -K; A may be start.",
            valueName: "A:B"),
        transform: { text in
            do { return try WindowSpec(parsing: text) } catch { throw CLIError("--window \(error)") }
        })
    var window: WindowSpec?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Instead of --window: the window's start A, a step, start, first, latest, or -K.", valueName: "step"))
    var from: StepSpec?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "With --from: the window's end B, a step, latest, first, or -K. Default: latest.", valueName: "step"))
    var to: StepSpec?

    /// Whether a window was given, in either spelling.
    var isGiven: Bool { window != nil || from != nil || to != nil }

    /// The window as written, whichever the spelling; nil when none was given.
    var spec: WindowSpec? {
        window ?? from.map { WindowSpec(from: $0, to: to ?? .latest) }
    }

    func validate() throws {
        if window != nil, from != nil || to != nil {
            throw ValidationError("give --window A:B or --from A --to B (the same window (A, B]), not both")
        }
        if to != nil, from == nil {
            throw ValidationError("--to needs --from: --from A --to B (or --window A:B) is the window (A, B]")
        }
        if to == .start { throw ValidationError("--to start names no checkpoint; use latest or a step") }
    }

    /// The window's checkpoints, resolved by the library (``DensityStore/resolve(_:run:)-(WindowSpec,_)``);
    /// the whole run when none was given. A window whose ends resolve out of order is refused
    /// naming the flags as they were written.
    /// - Returns: The window, and how its specs resolved when they were not exact steps, e.g.
    ///   `" (--from -1 -> 35)"` (empty when exact).
    func resolve(in store: DensityStore, run: String) throws -> (window: StepWindow, note: String) {
        let spec = self.spec ?? .wholeRun
        do {
            let window = try store.resolve(spec, run: run)
            return (window, DiffCommand.resolutionNote(spec.from, window.from, spec.to, window.to))
        } catch SelectionError.windowNotOrdered(_, _, let start, let end) {
            if self.window != nil {
                let notes = [(spec.from, start), (spec.to, end)].compactMap { spec, step in
                    spec == .exact(step) ? nil : "\(spec) -> step \(step)"
                }
                let detail = notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")"
                throw CLIError("--window \(spec): A must be before B, but they resolve to checkpoints \(start) and \(end)\(detail); choose an earlier A or a later B")
            }
            throw CLIError("--from (\(spec.from) -> step \(start)) must be before --to (\(spec.to) -> step \(end))")
        }
    }
}
