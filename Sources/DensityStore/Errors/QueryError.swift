/// Why a history query (``StoreSnapshot/deadFeatures(run:in:threshold:)`` and its neighbours)
/// refused its arguments. Each message says what was wrong and how to fix it; a value out of its
/// range is ``StoreError/settingOutOfRange(_:value:expected:)``.
public enum QueryError: DensityProblem, Hashable {
    /// The whole run holds fewer vectors than a window was asked to hold.
    case notEnoughVectors(run: String, requested: Int64, available: Int64)
    /// Two runs to compare differ in width.
    case widthMismatch(first: String, firstShape: String, second: String, secondShape: String)
    /// A comparison was asked of no runs.
    case noRuns

    /// Each is the request's fault.
    public var kind: ProblemKind { .invalidInput }

    /// How to fix it; the accounts carry their fix in ``problem``.
    public var remedy: String? { nil }

    /// A one-line account of the problem and its fix.
    public var problem: String {
        switch self {
        case let .notEnoughVectors(run, requested, available):
            return "run '\(run)' holds \(available) vectors in all, fewer than the \(requested) asked for"
        case let .widthMismatch(first, firstShape, second, secondShape):
            return "runs '\(first)' (\(firstShape)) and '\(second)' (\(secondShape)) differ in width; compare needs runs of the same width"
        case .noRuns:
            return "no runs to compare; name one or more runs"
        }
    }
}
