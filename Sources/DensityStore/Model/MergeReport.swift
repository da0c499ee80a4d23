/// What ``DensityStore/merge(from:)`` copied.
public struct MergeReport: Sendable, Hashable {
    /// Runs the destination did not have.
    public var runsCreated = 0
    /// Checkpoints copied.
    public var checkpointsCopied = 0
    /// Checkpoints the destination already had, identical.
    public var checkpointsAlreadyThere = 0
    /// Partial rank states copied (and steps they completed).
    public var rankStatesCopied = 0
    /// Steps that became complete in the destination by this merge.
    public var stepsCompleted = 0

    /// A report with nothing copied yet.
    public init() {}
}
