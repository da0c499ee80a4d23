public import DensityMetric

/// A whole state's checkpoint encoded ahead of its transaction: its chunks (a delta against the
/// checkpoint it is expected to follow, or a keyframe when the chain is full) and its summary.
///
/// Made by ``DensityStore/prepareCheckpoint(run:step:state:after:)`` without the store's
/// connection, so a writer can encode the next state while the previous one commits; written by
/// ``DensityStore/commit(_:)``, in a transaction of its own, only if the run's latest checkpoint
/// is still the one it was encoded against.
public struct PreparedCheckpoint: Sendable {
    /// The checkpoint a prepared one follows: its step, delta depth and exact state.
    public struct Basis: Sendable {
        /// The checkpoint's step.
        public let step: Int64
        let deltaDepth: Int
        /// Its exact state.
        public let state: DensityState

        /// A stored checkpoint and its state.
        /// - Parameters:
        ///   - checkpoint: The checkpoint, as the store returned it.
        ///   - state: Its exact state.
        public init(checkpoint: Checkpoint, state: DensityState) {
            self.init(step: checkpoint.step, deltaDepth: checkpoint.deltaDepth, state: state)
        }

        init(step: Int64, deltaDepth: Int, state: DensityState) {
            self.step = step
            self.deltaDepth = deltaDepth
            self.state = state
        }
    }

    /// The run, with the settings the chunks were laid out by.
    let run: Run
    /// The training step.
    public let step: Int64
    /// The state encoded.
    public let state: DensityState
    /// The checkpoint it follows.
    let basis: Basis
    /// Its delta depth: the basis's plus one, or 0 for a keyframe.
    let deltaDepth: Int
    /// The encoded chunks, in storage order.
    let chunks: [ChunkCodec.Encoded]
    /// The state's summary.
    let summary: DensitySummary
    /// Whether the state does not follow the basis (a count or the vectors went down, or a count
    /// grew by more than the vectors): it is never committed as prepared, and the ordinary write
    /// names what is wrong.
    let violatesBasis: Bool

    /// This checkpoint as the basis of the next one, for when it will have been committed.
    public var asBasis: Basis { Basis(step: step, deltaDepth: deltaDepth, state: state) }
}
