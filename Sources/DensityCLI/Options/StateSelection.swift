import ArgumentParser
import DensityMetric
import DensityStore
import DensityViews

/// `--step S | --from A [--to B] | --window A:B`: the cumulative state at a checkpoint, or the
/// window (A, B] between two; the cumulative state at the latest checkpoint when none is given.
///
/// Shared by `histogram` and `export`.
struct StateSelection: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The cumulative state at a step: a step, latest, first, or -K (K checkpoints before the latest). Default: latest.",
        valueName: "step"))
    var step: StepSpec?

    @OptionGroup var window: WindowOption

    /// Whether --step or a window was given.
    var isGiven: Bool { step != nil || window.isGiven }

    func validate() throws {
        if step != nil, window.isGiven {
            throw ValidationError("give --step S (the cumulative state at S) or a window --from A --to B (or --window A:B), not both")
        }
        try step?.requireCheckpoint(flag: "--step")
    }

    /// Reads the selected state; refuses one with no vectors, whose densities are undefined.
    /// - Throws: ``StoreError`` (unknown run, no checkpoint, empty window), ``NoDensities`` (a
    ///   step with no vectors) or ``CLIError`` (the window's ends resolve out of order).
    func read(_ store: StoreSnapshot, run: String) throws -> SelectedState {
        if window.isGiven {
            let window = try self.window.reading { try store.window(run: run, $0) }
            let note = self.window.note(from: window.from, to: window.to)
            guard window.state.vectors > 0 else {
                throw StoreError.emptyWindow(run: run, from: window.from, to: window.to)
            }
            return SelectedState(scope: .window(from: window.from, to: window.to), state: window.state, note: note)
        }
        let step = self.step ?? .latest
        let (checkpoint, state) = try store.state(run: run, at: step)
        try NoDensities.require(state, run: run, step: checkpoint.step)
        return SelectedState(scope: .step(checkpoint.step), state: state,
                             note: step.note(resolvedTo: checkpoint.step))
    }
}

extension StateSelection {
    /// The summary of the selected state with `bins` histogram bins: a window's is summarized
    /// by the library chunk by chunk (``StoreSnapshot/windowSummary(run:_:bins:)``), without holding
    /// its counts. Refuses a state with no vectors, as ``read(_:run:)`` does.
    func summary(_ store: StoreSnapshot, run: String, bins: Int) throws -> SelectedSummary {
        if window.isGiven {
            let (bounds, summary) = try self.window.reading { try store.windowSummary(run: run, $0, bins: bins) }
            return SelectedSummary(scope: .window(from: bounds.from, to: bounds.to), summary: summary,
                                   note: self.window.note(from: bounds.from, to: bounds.to))
        }
        let selected = try read(store, run: run)
        return SelectedSummary(scope: selected.scope, summary: DensitySummary(selected.state, bins: bins), note: selected.note)
    }
}
