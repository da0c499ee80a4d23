// MARK: - Choosing steps and windows: the one place step specs and windows are resolved

extension DensityStore {
    /// The run's checkpoint steps, ascending, never empty, inside the caller's transaction.
    /// - Throws: ``SelectionError/noCheckpointYet(run:pending:)`` when the run has no complete
    ///   checkpoint, with the steps still waiting for ranks.
    static func checkpointSteps(_ db: Connection, _ run: Run) throws -> [Int64] {
        let steps = try db.query("SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step",
                                 [.integer(run.id)], row: { $0.int64(0) })
        guard steps.isEmpty else { return steps }
        throw SelectionError.noCheckpointYet(run: run.name, pending: try pendingSteps(db, run))
    }

    /// The checkpoints a window names among known checkpoint steps, checked once: A must resolve before B.
    /// - Throws: A ``SelectionError`` (among them ``SelectionError/windowNotOrdered(run:window:from:to:)``).
    static func resolve(_ window: WindowSpec, in steps: [Int64], run name: String) throws(SelectionError) -> StepWindow {
        guard let end = try window.to.resolve(in: steps, run: name) else {
            throw .startIsNoCheckpoint(run: name)
        }
        let start = try window.from.resolve(in: steps, run: name)
        if let start, start >= end { throw .windowNotOrdered(run: name, window: window, from: start, to: end) }
        return StepWindow(from: start, to: end)
    }

    /// The checkpoints a window selection names, inside the caller's transaction.
    /// - Throws: A ``SelectionError``, or what ``recentWindow(_:_:holding:)`` throws.
    static func resolve(_ selection: WindowSelection, _ db: Connection, _ run: Run) throws -> StepWindow {
        let steps = try checkpointSteps(db, run)
        switch selection {
        case .steps(let spec):
            return try resolve(spec, in: steps, run: run.name)
        case .lastVectors(let vectors):
            let window = try recentWindow(db, run, holding: vectors)
            return StepWindow(from: window.from, to: window.to)
        }
    }
}
