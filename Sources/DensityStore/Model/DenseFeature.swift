/// A (component, feature) whose density in a window reaches a threshold, as
/// ``DensityStore/denseFeatures(run:from:to:threshold:)`` finds it.
public struct DenseFeature: Sendable, Hashable, Codable {
    /// The 0-based component, or `nil` for a run without components.
    public let component: Int?
    /// The 0-based feature.
    public let feature: Int
    /// On how many of the window's vectors it fired.
    public let count: Int64
    /// `count / vectors` of the window, as float64.
    public let density: Double

    /// A dense feature.
    /// - Parameters:
    ///   - component: The component, or `nil` without components.
    ///   - feature: The feature.
    ///   - count: Its count in the window.
    ///   - density: Its density in the window.
    public init(component: Int?, feature: Int, count: Int64, density: Double) {
        self.component = component
        self.feature = feature
        self.count = count
        self.density = density
    }
}
