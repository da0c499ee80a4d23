import DensityMetric
import DensityViews

/// The summary of a selection (``StateSelection/summary(_:run:bins:)``): what `histogram` shows.
struct SelectedSummary {
    let scope: SelectedState.Scope
    /// The summary (of the window, for a window).
    let summary: DensitySummary
    /// How the step specs resolved; see ``SelectedState/note``.
    let note: String
}

/// A state read by ``StateSelection``: cumulative at a step, or over a window.
struct SelectedState {
    /// Where the state comes from.
    enum Scope: Equatable {
        /// The cumulative state at a checkpoint.
        case step(Int64)
        /// The window (from, to]; `from` is `nil` for the start of the run.
        case window(from: Int64?, to: Int64)

        /// `"step": S`, or `"from": A, "to": B` (`from` null for start), for JSON outputs.
        var jsonFields: [(String, JSONValue)] {
            switch self {
            case .step(let step): [("step", .int(step))]
            case .window(let from, let to): [("from", from.map { .int($0) } ?? .null), ("to", .int(to))]
            }
        }

        /// "step 1200 (latest)" or "window (1000, 1200]", with how the specs resolved.
        func title(_ note: String) -> String {
            switch self {
            case .step(let step): "step \(step)\(note)"
            case .window(let from, let to): "window (\(from.map(String.init) ?? "start"), \(to)]\(note)"
            }
        }
    }

    let scope: Scope
    /// The counts and vectors (of the window, for a window).
    let state: DensityState
    /// How the step specs resolved, such as " (latest)"; empty when they named exact steps.
    let note: String

    /// `"step": S`, or `"from": A, "to": B` (`from` null for start), for JSON outputs.
    var jsonFields: [(String, JSONValue)] { scope.jsonFields }

    /// "step 1200 (latest)" or "window (1000, 1200]".
    var title: String { scope.title(note) }
}
