/// A run with its checkpoint count and latest checkpoint, as `density runs` lists it.
public struct RunSummary: Sendable, Hashable {
    /// The run.
    public let run: Run
    /// How many checkpoints it has.
    public let checkpointCount: Int
    /// Its latest checkpoint, if any.
    public let latest: Checkpoint?
    /// How many steps some but not all of its ranks have written (0 for a run of one rank).
    public let pendingSteps: Int
}
