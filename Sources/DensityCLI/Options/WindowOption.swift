import ArgumentParser
import DensityStore

/// The two spellings of a window (A, B], accepted by every command that reads one (`dead`,
/// `dense`, `diff`, `histogram`, `export`): `--window A:B`, or `--from A [--to B]` (B defaults
/// to latest). Giving both is refused.
struct WindowOption: ParsableArguments {
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
    var spec: WindowSpec? { try? WindowSpelling.window(window, from: from, to: to) }

    func validate() throws {
        do {
            _ = try WindowSpelling.window(window, from: from, to: to)
        } catch .both {
            throw ValidationError("give --window A:B or --from A --to B (the same window (A, B]), not both")
        } catch .endWithoutStart {
            throw ValidationError("--to needs --from: --from A --to B (or --window A:B) is the window (A, B]")
        } catch .endIsStart {
            try to?.requireCheckpoint(flag: "--to")
        }
    }

    /// The window as written, the whole run when none was given.
    var effective: WindowSpec { spec ?? .wholeRun }

    /// Runs a library query of the window as written (which resolves it in the transaction that
    /// reads it); a window whose ends resolve out of order is refused naming the flags as they
    /// were written.
    func reading<T>(_ query: (WindowSpec) throws -> T) throws -> T {
        let spec = effective
        do {
            return try query(spec)
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

    /// How the specs resolved to `from` and `to`, e.g. `" (--from -1 -> 35)"`; empty when exact.
    func note(from: Int64?, to: Int64) -> String {
        DiffCommand.resolutionNote(effective.from, from, effective.to, to)
    }
}
