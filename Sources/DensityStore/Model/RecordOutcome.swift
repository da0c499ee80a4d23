/// What ``DensityStore/record(run:step:state:rank:approximate:)`` did with a state.
public struct RecordOutcome: Sendable, Hashable {
    /// The step written.
    public let step: Int64
    /// The rank written, or `nil` for a whole state.
    public let rank: Int?
    /// `true` when the very same state was stored before: nothing changed (re-imports are no-ops).
    public let alreadyStored: Bool
    /// The checkpoints that became visible with this write, oldest first: the state itself, or
    /// for ranks each step whose last missing rank this was (none while a step is partial).
    public let completed: [Checkpoint]
    /// The steps still waiting for ranks after this write, oldest first (empty for whole states).
    public let pending: [PendingStep]
}
