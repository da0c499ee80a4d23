public import DensityMetric

// MARK: - Comparing any number of runs

extension DensityStore {
    /// Several runs of the same width summarized at one step, from one snapshot of the store and
    /// the summaries stored with the checkpoints (a checkpoint without one is summarized from its
    /// counts).
    /// - Parameters:
    ///   - names: The runs, at least one.
    ///   - step: Each run is read at its latest checkpoint at or before this step; `nil` for the
    ///     latest step every run has reached (the smallest of their latest steps).
    /// - Returns: The step and the runs' snapshots, in the order given.
    /// - Throws: ``QueryError/widthMismatch(first:firstShape:second:secondShape:)`` naming the
    ///   first run and the first of another width, ``StoreError/unknownRun(name:known:)``,
    ///   ``StoreError/noCheckpoint(run:atOrBefore:)`` when a run has no checkpoint at or before the step.
    public func compare(runs names: [String], atOrBefore step: Int64? = nil) throws -> RunComparison {
        try withConnection { db in
            try db.inTransaction(.deferred) {  // every run from one snapshot
                let runs = try names.map { try Self.requireRun(db, $0) }
                if let first = runs.first,
                   let other = runs.first(where: { $0.features != first.features || $0.components != first.components }) {
                    throw QueryError.widthMismatch(first: first.name, firstShape: first.describeShape,
                                                   second: other.name, secondShape: other.describeShape)
                }
                let at = try step ?? runs.map { run in
                    guard let latest = try Self.checkpoint(db, run, atOrBefore: nil) else {
                        throw StoreError.noCheckpoint(run: run.name, atOrBefore: nil)
                    }
                    return latest.step
                }.min() ?? 0
                let snapshots = try runs.map { run in
                    guard let checkpoint = try Self.checkpoint(db, run, atOrBefore: at) else {
                        throw StoreError.noCheckpoint(run: run.name, atOrBefore: at)
                    }
                    let summary = try Self.storedSummary(db, run, checkpoint)
                        ?? DensitySummary(try Self.readState(db, run, checkpoint))
                    return RunSnapshot(run: run, checkpoint: checkpoint, summary: summary)
                }
                return RunComparison(step: at, runs: snapshots)
            }
        }
    }
}
