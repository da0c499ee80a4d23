/// Two runs of the same width summarized at one step: what ``DensityStore/compare(_:_:atOrBefore:)``
/// returns.
public struct RunComparison: Sendable, Hashable {
    /// The step compared at; each run is read at its latest checkpoint at or before it.
    public let step: Int64
    /// The two runs, in the order asked for.
    public let runs: [RunSnapshot]

    /// A comparison.
    /// - Parameters:
    ///   - step: The step compared at.
    ///   - runs: The runs' snapshots.
    public init(step: Int64, runs: [RunSnapshot]) {
        self.step = step
        self.runs = runs
    }
}
