/// The features of a run whose density in a window reaches a threshold: what
/// ``DensityStore/denseFeatures(run:from:to:threshold:)`` returns.
public struct DenseFeatureReport: Sendable, Hashable {
    /// The run's name.
    public let run: String
    /// The window, with the checkpoint steps actually used; it holds at least one vector.
    public let window: WindowBounds
    /// A feature is dense when its window density is at least this.
    public let threshold: Double
    /// (component, feature) pairs examined: components x features.
    public let width: Int
    /// The dense features, densest first (ties in (component, feature) order).
    public let dense: [DenseFeature]
}
