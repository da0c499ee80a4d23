/// A window (A, B] as a query names it: two ``StepSpec``s, e.g. `1000:latest`, `start:-1`.
///
/// The window holds the activation vectors after checkpoint A up to checkpoint B; A may be
/// ``StepSpec/start`` (the whole run up to B), B may not.
public struct WindowSpec: Sendable, Hashable, CustomStringConvertible {
    /// A: the window starts after it (``StepSpec/start``: at the beginning of the run).
    public let from: StepSpec
    /// B: the window ends at it.
    public let to: StepSpec

    /// The whole run: (start, latest].
    public static let wholeRun = WindowSpec(from: .start, to: .latest)

    /// `A:B`.
    public var description: String { "\(from):\(to)" }

    /// The window (from, to].
    /// - Parameters:
    ///   - from: A.
    ///   - to: B; ``StepSpec/start`` is refused when the window is resolved.
    public init(from: StepSpec, to: StepSpec) {
        self.from = from
        self.to = to
    }

    /// The window of two checkpoint steps already resolved.
    /// - Parameter window: The window; its ends name themselves (``StepSpec/exact(_:)``).
    public init(_ window: StepWindow) {
        self.init(from: window.from.map { .exact($0) } ?? .start, to: .exact(window.to))
    }

    /// Parses `A:B`.
    /// - Parameter text: Two step specs around a colon.
    /// - Throws: ``SelectionError/malformedWindow(text:problem:)`` saying which part is wrong.
    public init(parsing text: String) throws(SelectionError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw .malformedWindow(text: text, problem: .notTwoParts) }
        guard let from = StepSpec(parsing: parts[0]) else { throw .malformedWindow(text: text, problem: .badStart(parts[0])) }
        guard let to = StepSpec(parsing: parts[1]) else { throw .malformedWindow(text: text, problem: .badEnd(parts[1])) }
        guard to != .start else { throw .malformedWindow(text: text, problem: .endIsStart) }
        self.init(from: from, to: to)
    }
}
