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

    /// A report.
    /// - Parameters:
    ///   - run: The run's name.
    ///   - window: The window.
    ///   - threshold: The density threshold, or `nil` for "count 0".
    ///   - width: Components x features.
    ///   - dead: The dead features.
    ///   - previous: The window before, if any.
    ///   - revived: The revived features; `nil` without a window before.
    public init(run: String, window: WindowBounds, threshold: Double?, width: Int, dead: [DeadFeature],
                previous: WindowBounds?, revived: [DeadFeature]?) {
        self.run = run
        self.window = window
        self.threshold = threshold
        self.width = width
        self.dead = dead
        self.previous = previous
        self.revived = revived
    }
}
