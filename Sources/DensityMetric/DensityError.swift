/// Why the metric engine refused an input.
///
/// Every case names what was expected and what was given, so the message alone says how to fix it.
public enum DensityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A size (features, components, batch) that must be positive was not.
    case nonPositiveSize(name: String, value: Int)
    /// The activations' shape does not fit the metric.
    case shapeMismatch(expected: String, actual: [Int])
    /// A buffer holds a different number of values than its shape says.
    case bufferSizeMismatch(shape: [Int], expected: Int, actual: Int)
    /// Two states of different widths cannot be merged or compared.
    case incompatibleStates(expected: String, actual: String)
    /// A later state has fewer vectors or a smaller count than an earlier one.
    case countsDecreased(detail: String)
    /// A count grew by more than the vectors between two states: a feature fires at most once per
    /// activation vector.
    case countGrewPastVectors(detail: String)
    /// A count would pass `Int64.max`.
    case countOverflow(detail: String)
    /// The fire threshold is not a finite number.
    case invalidThreshold(Double)

    /// A one-line account of what was wrong and how to fix it.
    public var description: String {
        switch self {
        case let .nonPositiveSize(name, value):
            return "\(name) must be a positive integer, got \(value)"
        case let .shapeMismatch(expected, actual):
            return "activations have shape \(Self.format(actual)), expected \(expected)"
        case let .bufferSizeMismatch(shape, expected, actual):
            return "shape \(Self.format(shape)) needs \(expected) values, the buffer holds \(actual)"
        case let .incompatibleStates(expected, actual):
            return "states do not match: expected \(expected), got \(actual)"
        case let .countsDecreased(detail):
            return "counts only grow, but \(detail)"
        case let .countGrewPastVectors(detail):
            return "a count grows by at most the vectors added (a feature fires at most once per activation vector), but \(detail)"
        case let .countOverflow(detail):
            return "count overflow: \(detail)"
        case let .invalidThreshold(value):
            return "the fire threshold must be a finite number, got \(value)"
        }
    }

    static func format(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}
