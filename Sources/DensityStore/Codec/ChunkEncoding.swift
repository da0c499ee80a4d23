/// How a chunk's counts are laid out in its blob: the `chunks.encoding` column.
///
/// New encodings get new ids; a store keeps reading every encoding it ever wrote.
public enum ChunkEncoding: Int64, Sendable, Hashable, CaseIterable {
    /// The counts as little-endian int64, one after the other (8 bytes per feature).
    case rawInt64 = 1
}
