/// A window (from, to] of a run's checkpoint steps and the activation vectors it holds.
public struct WindowBounds: Sendable, Hashable, Codable {
    /// The checkpoint step the window starts after, or `nil` for the start of the run.
    public let from: Int64?
    /// The checkpoint step the window ends at.
    public let to: Int64
    /// Activation vectors in the window: the difference of the two checkpoints' cumulative vectors.
    public let vectors: Int64

    /// A window.
    /// - Parameters:
    ///   - from: The start step, or `nil` for the start of the run.
    ///   - to: The end step.
    ///   - vectors: Vectors in the window.
    public init(from: Int64?, to: Int64, vectors: Int64) {
        self.from = from
        self.to = to
        self.vectors = vectors
    }
}
