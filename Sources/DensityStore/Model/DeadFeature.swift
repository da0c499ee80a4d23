/// A (component, feature) found dead in a window by ``DensityStore/deadFeatures(run:from:to:threshold:)``,
/// or found revived there.
public struct DeadFeature: Sendable, Hashable, Codable {
    /// The 0-based component, or `nil` for a run without components.
    public let component: Int?
    /// The 0-based feature.
    public let feature: Int
    /// Its count in the window: 0 under the default rule; below `threshold x vectors` with a
    /// threshold; above that for a revived feature.
    public let count: Int64
    /// The last checkpoint step, at or before the window's end, at which its cumulative count
    /// increased (it fired in the interval ending there); `nil` when it never fired.
    public let lastFiredStep: Int64?

    /// A dead (or revived) feature.
    /// - Parameters:
    ///   - component: The component, or `nil` without components.
    ///   - feature: The feature.
    ///   - count: Its count in the window.
    ///   - lastFiredStep: The last checkpoint step at which its count increased, or `nil`.
    public init(component: Int?, feature: Int, count: Int64, lastFiredStep: Int64?) {
        self.component = component
        self.feature = feature
        self.count = count
        self.lastFiredStep = lastFiredStep
    }
}
