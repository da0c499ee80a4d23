/// A number or text given to the store whose range the store checks: a run's settings and the
/// arguments of a write. ``StoreError/settingOutOfRange(_:value:expected:)`` names it in words;
/// the command line names the flag it came from.
public enum StoreSetting: String, Sendable, Hashable, CaseIterable {
    /// A run's number of features.
    case features
    /// A run's number of components.
    case components
    /// A run's fire threshold.
    case fireThreshold
    /// Features per stored chunk.
    case chunkFeatures
    /// Checkpoints per keyframe.
    case keyframeInterval
    /// A run's number of ranks.
    case worldSize
    /// One rank's index.
    case rank
    /// A run's metadata.
    case metadata
    /// A training step.
    case step
    /// Compaction keeps steps that are multiples of this.
    case keepEvery
    /// Compaction keeps this many of the latest checkpoints.
    case keepLast
    /// A density a query compares features with, in (0, 1].
    case threshold
    /// The activation vectors a window must hold.
    case windowVectors

    /// The setting in words, e.g. "the number of features".
    public var words: String {
        switch self {
        case .features: "the number of features"
        case .components: "the number of components"
        case .fireThreshold: "the fire threshold"
        case .chunkFeatures: "the features per chunk"
        case .keyframeInterval: "the keyframe interval"
        case .worldSize: "the world size"
        case .rank: "a rank"
        case .metadata: "a run's metadata"
        case .step: "a step"
        case .keepEvery: "the step multiple kept by compaction"
        case .keepLast: "the latest checkpoints kept by compaction"
        case .threshold: "the threshold"
        case .windowVectors: "the number of vectors a window holds"
        }
    }
}
