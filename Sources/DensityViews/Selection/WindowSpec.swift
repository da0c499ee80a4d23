/// `--window A:B` as written: two step specs around a colon.
package struct WindowSpec: Hashable, Sendable, CustomStringConvertible {
    /// A: the window starts after it (`start`: the beginning of the run).
    package var from: StepSpec
    /// B: the window ends at it.
    package var to: StepSpec

    /// `A:B`.
    package var description: String { "\(from):\(to)" }

    /// The window (from, to].
    package init(from: StepSpec, to: StepSpec) {
        self.from = from
        self.to = to
    }

    /// Parses `A:B`; the error explains the expected form.
    package init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else {
            throw SelectionError("expected A:B, two steps around a colon, e.g. 1000:latest, start:-1 or -4:-1")
        }
        guard let from = StepSpec(argument: parts[0]) else {
            throw SelectionError("A ('\(parts[0])') must be a step, start, first, latest or -K, e.g. 1000:latest")
        }
        guard let to = StepSpec(argument: parts[1]) else {
            throw SelectionError("B ('\(parts[1])') must be a step, first, latest or -K, e.g. 1000:latest")
        }
        guard to != .start else { throw SelectionError("B cannot be start: the window ends at a checkpoint, e.g. start:latest") }
        self.from = from
        self.to = to
    }
}
