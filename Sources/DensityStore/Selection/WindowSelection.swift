/// How a query picks its window: two step specs, or the latest stretch of activation vectors.
public enum WindowSelection: Sendable, Hashable, CustomStringConvertible {
    /// A window written as two step specs (``WindowSpec``), e.g. `1000:latest`.
    case steps(WindowSpec)
    /// The shortest window ending at the run's latest checkpoint that holds at least this many
    /// activation vectors (positive); the whole run when only it holds enough.
    case lastVectors(Int64)

    /// The whole run: (start, latest].
    public static let wholeRun = WindowSelection.steps(.wholeRun)

    /// `A:B`, or `the last N vectors`.
    public var description: String {
        switch self {
        case .steps(let spec): spec.description
        case .lastVectors(let vectors): "the last \(vectors) vectors"
        }
    }
}
