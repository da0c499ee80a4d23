/// What ``DensityStore/compact(run:keepEvery:keepLast:)`` did.
public struct CompactionReport: Sendable, Hashable {
    /// The run's name.
    public let run: String
    /// The steps kept, oldest first.
    public let keptSteps: [Int64]
    /// How many checkpoints were dropped.
    public let dropped: Int
    /// How many kept checkpoints had their chunks re-encoded (their predecessor changed).
    public let reencoded: Int
    /// The store file's size before, in bytes.
    public let bytesBefore: Int64
    /// The store file's size after reclaiming space, in bytes.
    public let bytesAfter: Int64
}
