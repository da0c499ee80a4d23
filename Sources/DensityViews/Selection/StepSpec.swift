import DensityStore

/// A step as the user writes it: `1200`, `latest`, `first`, `-1` (one checkpoint before the
/// latest), or `start` (the empty state before the first checkpoint, for `--from`).
package enum StepSpec: Hashable, Sendable, CustomStringConvertible {
    /// The empty state before the first checkpoint.
    case start
    /// The first checkpoint.
    case first
    /// The latest checkpoint.
    case latest
    /// The latest checkpoint at or before this step.
    case exact(Int64)
    /// K checkpoints before the latest.
    case offset(Int)

    /// Parses a step as written; nil when it is none of the spellings.
    package init?(argument: String) {
        switch argument.lowercased() {
        case "start": self = .start
        case "first": self = .first
        case "latest", "last": self = .latest
        default:
            guard let value = Int64(argument) else { return nil }
            if value < 0 {
                guard value >= -1_000_000_000 else { return nil }
                self = .offset(Int(-value))
            } else {
                self = .exact(value)
            }
        }
    }

    /// The spec as the user writes it.
    package var description: String {
        switch self {
        case .start: "start"
        case .first: "first"
        case .latest: "latest"
        case .exact(let step): String(step)
        case .offset(let k): "-\(k)"
        }
    }

    /// The checkpoint step this names among a run's steps (sorted); `nil` for `start`.
    ///
    /// An exact step that is not a checkpoint resolves to the latest checkpoint at or before it.
    package func resolve(in steps: [Int64], run: String) throws -> Int64? {
        guard let last = steps.last else { throw StoreError.noCheckpoint(run: run, atOrBefore: nil) }
        switch self {
        case .start: return nil
        case .first: return steps[0]
        case .latest: return last
        case .exact(let step):
            guard let found = steps.last(where: { $0 <= step }) else {
                throw SelectionError("run '\(run)' has no checkpoint at or before step \(step) (its first is step \(steps[0]))")
            }
            return found
        case .offset(let k):
            guard k < steps.count else {
                throw SelectionError("step -\(k) is out of range: run '\(run)' has \(steps.count) checkpoint(s), so offsets go down to -\(steps.count - 1)")
            }
            return steps[steps.count - 1 - k]
        }
    }
}
