/// A window (from, to] of a run's checkpoint steps, both ends resolved to checkpoints.
public struct StepWindow: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The checkpoint step the window starts after, or `nil` for the start of the run.
    public let from: Int64?
    /// The checkpoint step the window ends at.
    public let to: Int64

    /// A window of checkpoint steps.
    /// - Parameters:
    ///   - from: The start, a checkpoint step or `nil` for the start of the run.
    ///   - to: The end, a checkpoint step after `from`.
    public init(from: Int64?, to: Int64) {
        self.from = from
        self.to = to
    }

    /// `(from, to]`, with `start` for the start of the run.
    public var description: String { "(\(from.map(String.init) ?? "start"), \(to)]" }

    /// The previous window: the one definition every query uses (risers and fallers, revived
    /// features, a report's and a live view's last window).
    ///
    /// The window before (A, B] is (A', A], the same length in steps ending where this one starts:
    /// A' is the latest checkpoint at or before A − (B − A), or the start of the run when no
    /// checkpoint is that early. There is none when this window starts at the start of the run.
    /// - Parameter steps: The run's checkpoint steps, ascending.
    /// - Returns: The previous window, or `nil` when ``from`` is `nil`.
    public func previous(in steps: [Int64]) -> StepWindow? {
        guard let from else { return nil }
        let (length, overflow) = to.subtractingReportingOverflow(from)
        let target = overflow ? Int64.min : from.subtractingReportingOverflow(length).overflow ? Int64.min : from - length
        return StepWindow(from: StepSpec.latest(in: steps, atOrBefore: target), to: from)
    }
}
