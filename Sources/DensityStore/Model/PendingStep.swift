/// A step of a multi-rank run that some ranks have written and others not yet: no query sees it
/// until it is complete.
public struct PendingStep: Sendable, Hashable, Codable {
    /// The training step.
    public let step: Int64
    /// The ranks that have written it, ascending.
    public let ranks: [Int]
    /// The run's number of ranks.
    public let worldSize: Int

    /// The ranks still missing, ascending.
    public var missing: [Int] { (0..<worldSize).filter { !ranks.contains($0) } }
}
