/// Why a history query (``DensityStore/deadFeatures(run:from:to:threshold:)`` and its neighbours)
/// refused its arguments. Each message says what was wrong and how to fix it.
public enum QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A density threshold outside (0, 1].
    case thresholdOutOfRange(Double)
    /// A number of vectors that is not positive.
    case nonPositiveVectors(Int64)
    /// The whole run holds fewer vectors than a window was asked to hold.
    case notEnoughVectors(run: String, requested: Int64, available: Int64)
    /// Two runs to compare differ in width.
    case widthMismatch(first: String, firstShape: String, second: String, secondShape: String)

    /// A one-line account of the problem and its fix.
    public var description: String {
        switch self {
        case let .thresholdOutOfRange(value):
            return "a density threshold must be in (0, 1], got \(value)"
        case let .nonPositiveVectors(value):
            return "a window must hold a positive number of vectors, got \(value)"
        case let .notEnoughVectors(run, requested, available):
            return "run '\(run)' holds \(available) vectors in all, fewer than the \(requested) asked for"
        case let .widthMismatch(first, firstShape, second, secondShape):
            return "runs '\(first)' (\(firstShape)) and '\(second)' (\(secondShape)) differ in width; compare needs two runs of the same width"
        }
    }
}
