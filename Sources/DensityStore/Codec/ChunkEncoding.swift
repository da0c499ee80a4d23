/// How a chunk's counts are laid out in its blob: the `chunks.encoding` column.
///
/// New encodings get new ids; a store keeps reading every encoding it ever wrote.
public enum ChunkEncoding: Int64, Sendable, Hashable, CaseIterable {
    /// The cumulative counts as little-endian int64, one after the other (8 bytes per feature).
    /// Written by schema 0001; still read.
    case rawInt64 = 1
    /// A keyframe: the cumulative counts as unsigned LEB128 varints, compressed as one zstd frame.
    case varintZstd = 2
    /// A delta: each count minus the same count at the run's previous checkpoint (never negative:
    /// counts only grow), as unsigned LEB128 varints, compressed as one zstd frame.
    case deltaVarintZstd = 3
    /// A delta predicted from each feature's own rate: an unsigned LEB128 multiplier `m`
    /// (`(added_vectors << 32) // previous_vectors`), then for each count its change since the
    /// run's previous checkpoint minus the prediction `(previous_count * m) >> 32`, zigzag-coded
    /// as unsigned LEB128 varints; all in one zstd frame.
    case rateDeltaVarintZstd = 4

    /// Whether the chunk holds cumulative counts on its own (a keyframe), rather than the change
    /// since the previous checkpoint.
    public var isAbsolute: Bool { self != .deltaVarintZstd && self != .rateDeltaVarintZstd }
}
