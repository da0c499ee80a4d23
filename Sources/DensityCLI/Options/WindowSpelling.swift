import ArgumentParser
import DensityViews

/// The two spellings of a window (A, B], accepted by every command that reads one (`dead`,
/// `dense`, `diff`, `histogram`, `export`): `--window A:B`, or `--from A [--to B]` (B defaults
/// to latest). Giving both is refused.
struct WindowSpelling: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "The window (A, B]: each a step (the latest checkpoint at or before it), first, latest or -K; A may be start.",
            valueName: "A:B"),
        transform: { try WindowSpec(parsing: $0) })
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
}
