// MARK: - Choosing steps and windows: the one place step specs and windows are resolved

extension DensityStore {
    /// The steps of a run's checkpoints, ascending, read in one transaction.
    /// - Parameter name: The run's name.
    /// - Returns: The steps; never empty.
    /// - Throws: ``StoreError/unknownRun(name:known:)``; ``SelectionError/noCheckpointYet(run:pending:)``
    ///   when the run has no complete checkpoint, with the steps still waiting for ranks.
    public func checkpointSteps(run name: String) throws -> [Int64] {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                return try Self.checkpointSteps(db, run)
            }
        }
    }

    /// The run's checkpoint steps inside the caller's transaction; see ``checkpointSteps(run:)``.
    static func checkpointSteps(_ db: Connection, _ run: Run) throws -> [Int64] {
        let steps = try db.query("SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step",
                                 [.integer(run.id)], row: { $0.int64(0) })
        guard steps.isEmpty else { return steps }
        throw SelectionError.noCheckpointYet(run: run.name, pending: try pendingSteps(db, run))
    }

    /// The checkpoint step a spec names (``StepSpec/resolve(in:run:)``).
    /// - Parameters:
    ///   - spec: The step as written.
    ///   - name: The run's name.
    /// - Returns: The checkpoint step, or `nil` for ``StepSpec/start``.
    /// - Throws: ``StoreError/unknownRun(name:known:)`` or a ``SelectionError``.
    public func resolve(_ spec: StepSpec, run name: String) throws -> Int64? {
        try spec.resolve(in: checkpointSteps(run: name), run: name)
    }

    /// The checkpoints a window names, checked once: A must resolve before B.
    /// - Parameters:
    ///   - window: The window as written; ``WindowSpec/wholeRun`` for the whole run.
    ///   - name: The run's name.
    /// - Returns: The window of checkpoint steps.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError`` (among them
    ///   ``SelectionError/windowNotOrdered(run:window:from:to:)``).
    public func resolve(_ window: WindowSpec, run name: String) throws -> StepWindow {
        try Self.resolve(window, in: checkpointSteps(run: name), run: name)
    }

    /// ``resolve(_:run:)-(WindowSpec,_)`` against known checkpoint steps.
    static func resolve(_ window: WindowSpec, in steps: [Int64], run name: String) throws(SelectionError) -> StepWindow {
        guard let end = try window.to.resolve(in: steps, run: name) else {
            throw .startIsNoCheckpoint(run: name)
        }
        let start = try window.from.resolve(in: steps, run: name)
        if let start, start >= end { throw .windowNotOrdered(run: name, window: window, from: start, to: end) }
        return StepWindow(from: start, to: end)
    }
}

extension DensityStore {
    /// The error for a run found without a complete checkpoint: its pending steps, if any.
    /// - Parameter name: The run's name.
    /// - Returns: ``SelectionError/noCheckpointYet(run:pending:)``.
    public func noCheckpointYet(run name: String) -> SelectionError {
        .noCheckpointYet(run: name, pending: (try? pendingSteps(run: name)) ?? [])
    }
}
