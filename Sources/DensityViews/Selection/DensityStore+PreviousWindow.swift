package import DensityStore

extension DensityStore {
    /// The window of the same length (in steps) before (start, end], ending at `start`: from the
    /// latest checkpoint at or before `start - (end - start)`, or the start of the run. Nil when
    /// the window starts at the start of the run. What `diff` compares risers and fallers against.
    /// - Parameters:
    ///   - run: The run's name.
    ///   - start: The window's start (nil: the start of the run).
    ///   - end: The window's end.
    ///   - steps: The run's checkpoint steps, ascending.
    /// - Throws: The store's errors.
    package func previousWindow(run: String, start: Int64?, end: Int64, steps: [Int64]) throws -> DensityWindow? {
        guard let start else { return nil }
        let previousStart = steps.last(where: { $0 <= start - (end - start) })
        return try window(run: run, from: previousStart, to: start)
    }
}
