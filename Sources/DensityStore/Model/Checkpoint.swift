/// One stored checkpoint of a run: the cumulative totals at a training step.
public struct Checkpoint: Sendable, Hashable, Codable {
    /// The store's id of the checkpoint.
    public let id: Int64
    /// The training step.
    public let step: Int64
    /// Cumulative `num_activation_vectors`.
    public let vectors: Int64
    /// Cumulative count of non-finite activations.
    public let nonFinite: Int64
    /// When it was written, ISO 8601 UTC.
    public let wallTime: String
    /// 0 for a keyframe; d > 0 when its chunks are deltas against the previous checkpoint.
    public let deltaDepth: Int
    /// Whether the counts were derived from densities (such as a SAELens sparsity file) rather
    /// than counted, so they are rounded.
    public let approximate: Bool
}
