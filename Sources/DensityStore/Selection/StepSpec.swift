/// A step as a query names it: `1200`, `latest`, `first`, `-1` (one checkpoint before the
/// latest), or `start` (the empty state before the first checkpoint, for a window's start).
///
/// One meaning everywhere (``resolve(in:run:)``): a number names the latest checkpoint at or
/// before it; `first` and `latest` the run's first and latest checkpoints; `-K` the checkpoint K
/// before the latest; `start` no checkpoint at all.
public enum StepSpec: Sendable, Hashable, CustomStringConvertible {
    /// The empty state before the first checkpoint.
    case start
    /// The run's first checkpoint.
    case first
    /// The run's latest checkpoint.
    case latest
    /// The latest checkpoint at or before this step.
    case exact(Int64)
    /// The checkpoint this many before the latest (0 is the latest).
    case offset(Int)

    /// The most checkpoints `-K` can count back.
    public static let maxOffset = 1_000_000_000

    /// Parses `start`, `first`, `latest` (or `last`), a step, or `-K`.
    /// - Parameter text: The spec as written.
    /// - Returns: `nil` when `text` is none of these.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "start": self = .start
        case "first": self = .first
        case "latest", "last": self = .latest
        default:
            guard let value = Int64(text) else { return nil }
            if value < 0 {
                guard value >= -Int64(Self.maxOffset) else { return nil }
                self = .offset(Int(-value))
            } else {
                self = .exact(value)
            }
        }
    }

    /// The spec as written: `start`, `first`, `latest`, a step, or `-K`.
    public var description: String {
        switch self {
        case .start: "start"
        case .first: "first"
        case .latest: "latest"
        case .exact(let step): String(step)
        case .offset(let k): "-\(k)"
        }
    }

    /// The checkpoint step this names among a run's checkpoint steps; `nil` for `start`.
    /// - Parameters:
    ///   - steps: The run's checkpoint steps, ascending, not empty.
    ///   - run: The run's name, for the error.
    /// - Returns: The step, or `nil` for ``start``.
    /// - Throws: ``SelectionError/noCheckpointYet(run:pending:)`` when `steps` is empty,
    ///   ``SelectionError/beforeFirstCheckpoint(run:step:first:)``,
    ///   ``SelectionError/offsetOutOfRange(run:offset:checkpoints:)``.
    public func resolve(in steps: [Int64], run: String) throws(SelectionError) -> Int64? {
        guard let last = steps.last else { throw .noCheckpointYet(run: run, pending: []) }
        switch self {
        case .start: return nil
        case .first: return steps[0]
        case .latest: return last
        case .exact(let step):
            guard let found = Self.latest(in: steps, atOrBefore: step) else {
                throw .beforeFirstCheckpoint(run: run, step: step, first: steps[0])
            }
            return found
        case .offset(let k):
            guard k < steps.count else { throw .offsetOutOfRange(run: run, offset: k, checkpoints: steps.count) }
            return steps[steps.count - 1 - k]
        }
    }

    /// How this spec resolved to the checkpoint at `step`, for a heading: empty when it named that
    /// step exactly, ` (latest checkpoint at or before S)` for another step, else ` (latest)`,
    /// ` (-3)` and the like.
    /// - Parameter step: The checkpoint step it resolved to.
    /// - Returns: The note, with a leading space, or nothing.
    public func note(resolvedTo step: Int64) -> String {
        switch self {
        case .exact(let asked) where asked == step: ""
        case .exact(let asked): " (latest checkpoint at or before \(asked))"
        default: " (\(self))"
        }
    }

    /// The latest of ascending `steps` at or before `step` (binary search), or `nil`.
    static func latest(in steps: [Int64], atOrBefore step: Int64) -> Int64? {
        var low = 0, high = steps.count  // steps[..<low] <= step < steps[high...]
        while low < high {
            let middle = (low + high) / 2
            if steps[middle] <= step { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : steps[low - 1]
    }
}
