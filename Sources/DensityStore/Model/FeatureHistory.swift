/// Some (component, feature) pairs' cumulative counts at every checkpoint of a run: what
/// ``DensityStore/featureHistory(run:pairs:)`` reads in one transaction.
public struct FeatureHistory: Sendable, Hashable {
    /// One (component, feature) pair; `component` is 0 for a run without components.
    public struct Pair: Sendable, Hashable {
        /// The 0-based component (0 when the run has none).
        public let component: Int
        /// The 0-based feature.
        public let feature: Int

        /// A pair.
        /// - Parameters:
        ///   - component: The 0-based component (0 when the run has none).
        ///   - feature: The 0-based feature.
        public init(component: Int = 0, feature: Int) {
            self.component = component
            self.feature = feature
        }
    }

    /// The pairs, in the order asked for (a pair may repeat).
    public let pairs: [Pair]
    /// The run's checkpoints, oldest first.
    public let checkpoints: [Checkpoint]
    /// The counts, row-major `[checkpoints.count, pairs.count]`: `counts[row * pairs.count + column]`
    /// is pair `column`'s cumulative count at checkpoint `row`.
    public let counts: [Int64]
}
