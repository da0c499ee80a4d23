/// A run with its checkpoint count and latest checkpoint, as `density runs` lists it.
public struct RunSummary: Sendable, Hashable {
    /// The run.
    public let run: Run
    /// How many checkpoints it has.
    public let checkpointCount: Int
    /// Its latest checkpoint, if any.
    public let latest: Checkpoint?
}
