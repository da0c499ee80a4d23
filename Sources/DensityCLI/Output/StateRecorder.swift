import DensityFormats
import DensityMetric
import DensityStore
import DensityViews

/// Records torchmetrics states as checkpoints of one run: the shared path of `checkpoint`,
/// `import` and `record`. Re-recording a stored state is a no-op; every error names the source.
struct StateRecorder {
    let store: DensityStore
    let run: Run
    let rank: (rank: Int, worldSize: Int)?

    /// Takes the run's writer lock (or its rank's) at once, so a second writer is refused before
    /// it reads any input.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, ``WriterLockError``.
    init(store: DensityStore, runName: String, rank: (rank: Int, worldSize: Int)?) throws {
        self.store = store
        self.run = try store.lockRunForWriting(runName, rank: rank.map(\.rank))
        self.rank = rank
    }

    /// Checks a state against the run and records it.
    /// - Parameters:
    ///   - torch: The state read from a file or frame.
    ///   - step: `--step`, which must agree with the state's `step` tensor when it has one; else
    ///     that tensor.
    ///   - source: The file or frame, for messages.
    /// - Returns: The step and what the store did.
    func record(_ torch: TorchMetricsState, step: Int64?, source: String) throws -> RecordOutcome {
        try recordState(torch, step: step, source: source).outcome
    }

    /// As ``record(_:step:source:)``, also returning the exact state recorded.
    func recordState(_ torch: TorchMetricsState, step: Int64?, source: String) throws
        -> (outcome: RecordOutcome, state: DensityState)
    {
        let (step, state) = try state(of: torch, step: step, source: source)
        for warning in torch.warnings { Console.message("warning: " + warning) }
        return (try store.record(run: run.name, step: step, state: state, rank: rank), state)
    }

    /// The step and exact state of a torchmetrics state, checked against the run.
    /// - Parameters:
    ///   - torch: The state read from a file or frame.
    ///   - step: As for ``record(_:step:source:)``.
    ///   - source: The file or frame, for messages.
    ///   - nonFinite: The non-finite count the state carries; by default that of the run's
    ///     checkpoint at or before the step (read from the store).
    func state(of torch: TorchMetricsState, step: Int64?, source: String, nonFinite: Int64? = nil) throws
        -> (step: Int64, state: DensityState)
    {
        if let step, let inFile = torch.step, step != inFile {
            throw CLIError("'\(source)': --step \(step) disagrees with its 'step' tensor, step \(inFile); pass --step \(inFile) or leave --step out to store it at step \(inFile), or correct the file's step. Nothing was stored")
        }
        guard let step = step ?? torch.step else {
            throw CLIError("'\(source)' has no 'step' tensor: pass --step STEP, or save the step with the state")
        }
        // torchmetrics keeps no non-finite count: a whole state carries the run's forward; ranks carry none.
        let nonFinite = try nonFinite ?? (rank == nil ? try store.read { snapshot in
            do { return try snapshot.checkpoint(run: run.name, at: .exact(step)).nonFinite } catch is SelectionError { return 0 }
        } : 0)
        do {
            return (step, try torch.state(features: run.features, components: run.components, nonFinite: nonFinite))
        } catch let error as DensityError {
            throw CLIError("'\(source)': \(error) (run '\(run.name)' has \(run.describeShape))")
        }
    }

    /// One line saying what a record did.
    static func describe(_ outcome: RecordOutcome, run: String, source: String) -> String {
        let who = outcome.rank.map { "rank \($0), " } ?? ""
        if outcome.alreadyStored {
            return "run '\(run)': \(who)step \(outcome.step) from \(source) was already stored; nothing changed"
        }
        var text = "run '\(run)': \(who)step \(outcome.step) stored from \(source)"
        for checkpoint in outcome.completed {
            text += outcome.rank == nil ? ", \(checkpoint.vectors) vectors" : "; step \(checkpoint.step) complete (\(checkpoint.vectors) vectors)"
        }
        if let waiting = outcome.pending.first(where: { $0.step == outcome.step }) {
            text += "; " + waiting.waiting
        }
        return text
    }
}
