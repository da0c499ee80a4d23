/// A training run: its name, its width and its settings.
public struct Run: Sendable, Hashable, Codable {
    /// The store's id of the run.
    public let id: Int64
    /// The unique name.
    public let name: String
    /// The number of learned features.
    public let features: Int
    /// The number of components, or `nil` when activations are `[batch, features]`.
    public let components: Int?
    /// An activation fires when it is `> fireThreshold`.
    public let fireThreshold: Double
    /// Features per stored chunk.
    public let chunkFeatures: Int
    /// A keyframe every this many checkpoints: reading a checkpoint decodes at most this many chunks
    /// per chunk position.
    public let keyframeInterval: Int
    /// How many ranks write partial states of each step (1: one process writes whole states).
    public let worldSize: Int
    /// When the run was created, ISO 8601 UTC.
    public let createdAt: String
    /// Optional JSON metadata (hyperparameters).
    public let metadata: String?

    /// The number of chunks per component.
    public var chunksPerComponent: Int { (features + chunkFeatures - 1) / chunkFeatures }

    /// The width in words, as errors print it.
    public var describeShape: String {
        components.map { "components=\($0), features=\(features)" } ?? "features=\(features), no components"
    }
}
