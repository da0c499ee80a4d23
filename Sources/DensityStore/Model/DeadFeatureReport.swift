/// The features of a run that are dead in a window of steps, and those that revived in it: what
/// ``DensityStore/deadFeatures(run:from:to:threshold:)`` returns.
public struct DeadFeatureReport: Sendable, Hashable {
    /// The run's name.
    public let run: String
    /// The window, with the checkpoint steps actually used; it holds at least one vector.
    public let window: WindowBounds
    /// `nil`: dead means no firing in the window (count 0). Else: dead means window density below this.
    public let threshold: Double?
    /// (component, feature) pairs examined: components x features.
    public let width: Int
    /// The dead features, in (component, feature) order.
    public let dead: [DeadFeature]
    /// The window before: as many checkpoints as ``window``, ending where it starts (cut at the
    /// start of the run when fewer checkpoints precede). `nil` when there is none: ``window``
    /// starts at the start of the run, or the window before holds no vectors.
    public let previous: WindowBounds?
    /// Features dead in ``previous`` (by the same rule) and not dead in ``window``, in (component,
    /// feature) order; `nil` when ``previous`` is `nil`.
    public let revived: [DeadFeature]?
}
