import ArgumentParser
import DensityStore

/// A step as the user writes it: `1200`, `latest`, `first`, `-1` (one checkpoint before the
/// latest), or `start` (the empty state before the first checkpoint, for `--from`).
enum StepSpec: Hashable, ExpressibleByArgument, CustomStringConvertible {
    case start
    case first
    case latest
    case exact(Int64)
    case offset(Int)

    init?(argument: String) {
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

    static var defaultCompletionKind: CompletionKind { .list(["latest", "first", "start"]) }

    var description: String {
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
    func resolve(in steps: [Int64], run: String) throws -> Int64? {
        guard let last = steps.last else { throw StoreError.noCheckpoint(run: run, atOrBefore: nil) }
        switch self {
        case .start: return nil
        case .first: return steps[0]
        case .latest: return last
        case .exact(let step):
            guard let found = steps.last(where: { $0 <= step }) else {
                throw CLIError("run '\(run)' has no checkpoint at or before step \(step) (its first is step \(steps[0]))")
            }
            return found
        case .offset(let k):
            guard k < steps.count else {
                throw CLIError("step -\(k) is out of range: run '\(run)' has \(steps.count) checkpoint(s), so offsets go down to -\(steps.count - 1)")
            }
            return steps[steps.count - 1 - k]
        }
    }
}
