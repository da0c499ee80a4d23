/// One feature's cumulative totals at one checkpoint.
public struct TrendPoint: Sendable, Hashable, Codable {
    /// The training step.
    public let step: Int64
    /// Cumulative vectors at that step.
    public let vectors: Int64
    /// Cumulative count of the feature at that step.
    public let count: Int64
    /// `count / vectors` (NaN when no vector was seen).
    public var density: Double { Double(count) / Double(vectors) }
}
