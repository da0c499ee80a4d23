/// Why a step or window could not be chosen among a run's checkpoints. The cases carry the data;
/// ``description`` words it without naming any command-line flag (the command line says which
/// flag the spec came from).
public enum SelectionError: DensityProblem, Hashable {
    /// What is wrong with a window written as text.
    public enum WindowProblem: Sendable, Hashable {
        /// Not two parts around one colon.
        case notTwoParts
        /// A is not a step spec.
        case badStart(String)
        /// B is not a step spec.
        case badEnd(String)
        /// B is `start`, which names no checkpoint.
        case endIsStart
    }

    /// The run has no complete checkpoint yet; `pending` lists the steps still waiting for some
    /// of a distributed run's ranks (empty: nothing stored at all).
    case noCheckpointYet(run: String, pending: [PendingStep])
    /// A step before the run's first checkpoint.
    case beforeFirstCheckpoint(run: String, step: Int64, first: Int64)
    /// `-K` counts back past the first checkpoint.
    case offsetOutOfRange(run: String, offset: Int, checkpoints: Int)
    /// A window's A does not resolve to a checkpoint before B's.
    case windowNotOrdered(run: String, window: WindowSpec, from: Int64, to: Int64)
    /// `start` was given where a checkpoint is needed (it is the empty state before the first).
    case startIsNoCheckpoint(run: String)
    /// A window written as text does not parse.
    case malformedWindow(text: String, problem: WindowProblem)

    /// What kind of failure this is: nothing to select from yet is ``ProblemKind/notFound``; any
    /// other selection is the request's fault.
    public var kind: ProblemKind {
        if case .noCheckpointYet = self { return .notFound }
        return .invalidInput
    }

    /// How to fix it; the accounts of a selection carry their fix in ``problem``.
    public var remedy: String? { nil }

    /// A one-line account of the problem and its fix.
    public var problem: String {
        switch self {
        case let .noCheckpointYet(run, pending):
            guard let first = pending.first else {
                return "run '\(run)' has no checkpoints yet; record one first"
            }
            let listed = pending.prefix(3).map(\.waiting).joined(separator: "; ")
                + (pending.count > 3 ? "; … \(pending.count - 3) more" : "")
            return "run '\(run)' has no complete checkpoint yet: \(pending.count) step\(pending.count == 1 ? " is" : "s are") pending (\(listed)). A step of a run of \(first.worldSize) ranks becomes a checkpoint once every rank has stored its state for it"
        case let .beforeFirstCheckpoint(run, step, first):
            return "run '\(run)' has no checkpoint at or before step \(step) (its first is step \(first))"
        case let .offsetOutOfRange(run, offset, checkpoints):
            guard checkpoints > 1 else {
                return "step -\(offset) is out of range: run '\(run)' has one checkpoint, so none is before the latest; use latest (or first), or record more checkpoints"
            }
            return "step -\(offset) is out of range: run '\(run)' has \(checkpoints) checkpoints, so offsets go down to -\(checkpoints - 1); use first for the earliest"
        case let .windowNotOrdered(run, window, from, to):
            return "window \(window) of run '\(run)': A must be before B, but they resolve to checkpoints \(from) and \(to); choose an earlier A or a later B"
        case let .startIsNoCheckpoint(run):
            return "start names no checkpoint of run '\(run)' (it is the empty state before the first); use first, latest, a step or -K"
        case let .malformedWindow(text, problem):
            switch problem {
            case .notTwoParts: return "'\(text)': expected A:B, two steps around a colon, e.g. 1000:latest, start:-1 or -4:-1"
            case .badStart(let part): return "'\(text)': A ('\(part)') must be a step, start, first, latest or -K, e.g. 1000:latest"
            case .badEnd(let part): return "'\(text)': B ('\(part)') must be a step, first, latest or -K, e.g. 1000:latest"
            case .endIsStart: return "'\(text)': B cannot be start: the window ends at a checkpoint, e.g. start:latest"
            }
        }
    }
}

extension PendingStep {
    /// "step 10 waits for ranks 1, 2".
    package var waiting: String {
        "step \(step) waits for rank\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", "))"
    }
}
