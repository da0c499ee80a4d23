package import DensityStore

extension DensityStore {
    /// The steps of a run's checkpoints, ascending, for ``StepSpec`` to resolve against.
    /// - Throws: ``StoreError/unknownRun(name:known:)``; ``NoCheckpointYet`` when the run has no
    ///   checkpoint yet, saying why: steps still waiting for some of a distributed run's ranks
    ///   (which ones), or nothing stored at all.
    package func checkpointSteps(run name: String) throws -> [Int64] {
        let steps = try checkpoints(run: name).map(\.step)
        guard steps.isEmpty else { return steps }
        throw noCheckpointError(run: name)
    }

    /// Why a run has no checkpoint: its pending steps and the ranks each waits for, or that
    /// nothing was stored.
    package func noCheckpointError(run name: String) -> NoCheckpointYet {
        let pending = (try? pendingSteps(run: name)) ?? []
        guard let first = pending.first else {
            return NoCheckpointYet("run '\(name)' has no checkpoints yet; add one with `density checkpoint`, `density ingest` or `density record`")
        }
        let listed = pending.prefix(3).map(\.waiting).joined(separator: "; ") + (pending.count > 3 ? "; … \(pending.count - 3) more" : "")
        return NoCheckpointYet("run '\(name)' has no complete checkpoint yet: \(pending.count) step\(pending.count == 1 ? " is" : "s are") pending (\(listed)). A step of a run of \(first.worldSize) ranks becomes a checkpoint once every rank has stored its state for it (`density checkpoint RUN --rank R --world-size \(first.worldSize) FILE`)")
    }
}

extension PendingStep {
    /// "step 10 waits for ranks 1, 2".
    package var waiting: String {
        "step \(step) waits for rank\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", "))"
    }
}
