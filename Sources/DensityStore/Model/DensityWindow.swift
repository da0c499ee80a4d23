public import DensityMetric

/// The counts of a run over a window of steps (from, to]: the difference of two cumulative states.
public struct DensityWindow: Sendable, Hashable {
    /// The run's name.
    public let run: String
    /// The checkpoint step the window starts after, or `nil` for the start of the run.
    public let from: Int64?
    /// The checkpoint step the window ends at.
    public let to: Int64
    /// Counts, vectors and non-finite count within the window.
    public let state: DensityState

    /// The window's densities, row-major `[components ?? 1][features]`.
    public func densities() -> [Double] { state.densities() }
}
