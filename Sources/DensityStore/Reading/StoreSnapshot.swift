public import DensityMetric

/// One committed state of a store, in which every question about it is asked: the value
/// ``DensityStore/read(_:)`` hands its closure, as GRDB's `dbQueue.read { db in … }` does.
///
/// Everything read through one snapshot comes from one read transaction, so a concurrent append,
/// compaction or rewind by another process can neither fail a question nor mix two states. Each
/// method resolves its steps and windows (``StepSpec``, ``WindowSpec``, ``WindowSelection``), walks
/// the delta chains and checks the stored invariants itself. A snapshot is valid only during the
/// call that hands it over; do not keep it.
public struct StoreSnapshot {
    let db: Connection

    // MARK: - Runs

    /// Every run with its checkpoint count and latest checkpoint, by name.
    /// - Returns: One summary per run.
    /// - Throws: A ``StoreError`` when the store cannot be read.
    public func runs() throws -> [RunSummary] {
        let runs = try db.query("SELECT \(DensityStore.runColumns) FROM runs ORDER BY name", row: DensityStore.readRun)
        return try runs.map { run in
            let count = try db.queryFirst(
                "SELECT count(*) FROM checkpoints WHERE run_id = ?", [.integer(run.id)]) { $0.int(0) } ?? 0
            let pending = try db.queryFirst(
                "SELECT count(DISTINCT step) FROM rank_states WHERE run_id = ? AND data IS NOT NULL",
                [.integer(run.id)]) { $0.int(0) } ?? 0
            return RunSummary(run: run, checkpointCount: count, latest: try DensityStore.latestCheckpoint(db, run),
                              pendingSteps: pending)
        }
    }

    /// The run of this name.
    /// - Parameter name: The run's name.
    /// - Returns: The run.
    /// - Throws: ``StoreError/unknownRun(name:known:)`` listing the runs that exist.
    public func run(named name: String) throws -> Run {
        try DensityStore.requireRun(db, name)
    }

    /// The run's checkpoints, oldest first (none for a run not yet written).
    /// - Parameter name: The run's name.
    /// - Returns: Every checkpoint.
    /// - Throws: ``StoreError/unknownRun(name:known:)``.
    public func checkpoints(run name: String) throws -> [Checkpoint] {
        try DensityStore.checkpoints(db, try run(named: name))
    }

    /// The steps of a distributed run that some but not all ranks have written, oldest first.
    /// - Parameter name: The run's name.
    /// - Returns: The pending steps (always empty for a run of one rank).
    /// - Throws: ``StoreError/unknownRun(name:known:)``.
    public func pendingSteps(run name: String) throws -> [PendingStep] {
        try DensityStore.pendingSteps(db, try run(named: name))
    }

    /// Why a run has nothing to read yet: no complete checkpoint, with the steps still waiting for ranks.
    /// - Parameter name: The run's name.
    /// - Returns: ``SelectionError/noCheckpointYet(run:pending:)``.
    /// - Throws: ``StoreError/unknownRun(name:known:)``.
    public func noCheckpointYet(run name: String) throws -> SelectionError {
        .noCheckpointYet(run: name, pending: try pendingSteps(run: name))
    }

    // MARK: - Steps and windows

    /// The checkpoint step a spec names (``StepSpec/resolve(in:run:)``).
    /// - Parameters:
    ///   - spec: The step as written.
    ///   - name: The run's name.
    /// - Returns: The checkpoint step, or `nil` for ``StepSpec/start``.
    /// - Throws: ``StoreError/unknownRun(name:known:)`` or a ``SelectionError``.
    public func resolve(_ spec: StepSpec, run name: String) throws -> Int64? {
        try spec.resolve(in: DensityStore.checkpointSteps(db, try run(named: name)), run: name)
    }

    /// The checkpoints a window names, checked once: A must resolve before B.
    /// - Parameters:
    ///   - window: The window as written.
    ///   - name: The run's name.
    /// - Returns: The window of checkpoint steps.
    /// - Throws: ``StoreError/unknownRun(name:known:)`` or a ``SelectionError``.
    public func resolve(_ window: WindowSpec, run name: String) throws -> StepWindow {
        try DensityStore.resolve(window, in: DensityStore.checkpointSteps(db, try run(named: name)), run: name)
    }

    // MARK: - One checkpoint

    /// The checkpoint a step spec names, without decoding its counts.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The step as written; ``StepSpec/start`` names no checkpoint.
    /// - Returns: The checkpoint.
    /// - Throws: ``StoreError/unknownRun(name:known:)`` or a ``SelectionError``.
    public func checkpoint(run name: String, at spec: StepSpec = .latest) throws -> Checkpoint {
        let run = try run(named: name)
        return try DensityStore.checkpoint(db, run, at: spec)
    }

    /// The checkpoint a step spec names, with its exact state.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The step as written; ``StepSpec/start`` names no checkpoint.
    /// - Returns: The checkpoint and its state.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``, or a damaged-chunk error.
    public func state(run name: String, at spec: StepSpec = .latest) throws -> (checkpoint: Checkpoint, state: DensityState) {
        let run = try run(named: name)
        let checkpoint = try DensityStore.checkpoint(db, run, at: spec)
        return (checkpoint, try DensityStore.readState(db, run, checkpoint))
    }

    /// The summary of the checkpoint a step spec names: vectors, mean density, dead and dense
    /// counts, and the log10-density histogram (50 bins over [-10, 0]), from the summary stored
    /// with the checkpoint (a checkpoint written before summaries existed is decoded instead).
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The step as written; ``StepSpec/start`` names no checkpoint.
    /// - Returns: The checkpoint and its summary.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``, or a damaged-chunk error.
    public func summary(run name: String, at spec: StepSpec = .latest) throws -> (checkpoint: Checkpoint, summary: DensitySummary) {
        let run = try run(named: name)
        let checkpoint = try DensityStore.checkpoint(db, run, at: spec)
        return (checkpoint, try DensityStore.summary(db, run, checkpoint))
    }

    /// The run, the checkpoint a step spec names with its stored summary, and the steps still
    /// waiting for ranks: what `density show` prints.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The step as written; ``StepSpec/start`` names no checkpoint.
    /// - Returns: The run at that checkpoint.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``, or a damaged-chunk error.
    public func overview(run name: String, at spec: StepSpec = .latest) throws -> RunSnapshot {
        let run = try run(named: name)
        return try DensityStore.overview(db, run, at: try DensityStore.checkpoint(db, run, at: spec))
    }

    /// Every checkpoint's stored summary (or one computed from its counts when it has none), in
    /// step order: what run-level pictures need, without decoding counts.
    /// - Parameter name: The run's name.
    /// - Returns: One (checkpoint, summary) per checkpoint; none for a run not yet written.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, or a damaged-chunk error when decoding.
    public func summaries(run name: String) throws -> [(checkpoint: Checkpoint, summary: DensitySummary)] {
        try DensityStore.summaries(db, try run(named: name))
    }

    // MARK: - Windows

    /// The exact counts over a window, the difference of the states at its bounds.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The window as written.
    /// - Returns: The window, with the checkpoint steps it resolved to.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``, or a damaged-chunk error.
    public func window(run name: String, _ spec: WindowSpec) throws -> DensityWindow {
        let run = try run(named: name)
        let window = try DensityStore.resolve(spec, in: DensityStore.checkpointSteps(db, run), run: name)
        return try DensityStore.window(db, run, window)
    }

    /// The summary of a window, read chunk by chunk without holding the window's counts: what
    /// `histogram --from A --to B` shows.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The window as written.
    ///   - bins: The histogram's bins over [-10, 0].
    /// - Returns: The window and its summary.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``,
    ///   ``StoreError/emptyWindow(run:from:to:)`` when the window holds no vectors, or a damaged-chunk error.
    public func windowSummary(run name: String, _ spec: WindowSpec, bins: Int = DensitySummary.storedBins) throws
        -> (window: WindowBounds, summary: DensitySummary)
    {
        let run = try run(named: name)
        let steps = try DensityStore.checkpointSteps(db, run)
        let found = try DensityStore.movers(db, run, window: DensityStore.resolve(spec, in: steps, run: name), steps: steps,
                                            top: 0, bins: bins)
        return (found.window, found.summary)
    }

    /// A window's summary, the previous window (``StepWindow/previous(in:)``), and the features
    /// whose density rose and fell most between them, in one pass over the chunks at the bounds.
    ///
    /// With `each`, the window's counts are handed over too, a chunk at a time in (component,
    /// feature) order, as they are read: what `diff --format csv|json` prints, without holding them all.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The window as written.
    ///   - top: How many risers and fallers to rank (0: none).
    ///   - recentlyDead: How many of the features dead in the window that fired before it to list,
    ///     the latest to last rise first (0: none).
    ///   - each: Called with the window, the flat index of each chunk's first feature and the
    ///     window's counts of the chunk (valid during the call only).
    /// - Returns: Both windows and the ranked changes.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``,
    ///   ``StoreError/emptyWindow(run:from:to:)`` when the window holds no vectors, a damaged-chunk
    ///   error, or what `each` throws.
    public func movers(run name: String, window spec: WindowSpec, top: Int, recentlyDead: Int = 0,
                       each: ((WindowBounds, Int, UnsafeBufferPointer<Int64>) throws -> Void)? = nil) throws -> WindowMovers {
        let run = try run(named: name)
        let steps = try DensityStore.checkpointSteps(db, run)
        return try DensityStore.movers(db, run, window: DensityStore.resolve(spec, in: steps, run: name), steps: steps,
                                       top: top, recentlyDead: recentlyDead, each: each)
    }

    /// The features dead in a window, each with the last step it fired at, and the features that
    /// revived in it.
    ///
    /// Dead means no firing in the window (count 0), or, with `threshold`, a window density below
    /// it. A feature's last fired step is the last checkpoint, at or before the window's end, whose
    /// cumulative count is above the previous checkpoint's: exact, found per chunk from its
    /// keyframes and only the delta chains that hold a listed feature's last firing.
    ///
    /// Revived: dead in the previous window (``StepWindow/previous(in:)``) and not dead in this
    /// one. There is no window before when this one starts at the start of the run, or when it
    /// holds no vectors.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - window: The window.
    ///   - threshold: `nil` for "count 0"; else a density in (0, 1] that a dead feature is below.
    /// - Returns: The dead and revived features, in (component, feature) order.
    /// - Throws: ``StoreError/settingOutOfRange(_:value:expected:)`` for the threshold, ``StoreError/unknownRun(name:known:)``, a
    ///   ``SelectionError``, ``QueryError/notEnoughVectors(run:requested:available:)``,
    ///   ``StoreError/emptyWindow(run:from:to:)`` when the window holds no vectors, or a damaged-chunk error.
    public func deadFeatures(run name: String, in window: WindowSelection = .wholeRun, threshold: Double? = nil) throws
        -> DeadFeatureReport
    {
        if let threshold { try DensityStore.requireDensityThreshold(threshold) }
        let run = try run(named: name)
        return try DensityStore.deadFeatures(db, run, try DensityStore.resolve(window, db, run), threshold: threshold)
    }

    /// The features whose density in a window is at least `threshold`, densest first.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - window: The window.
    ///   - threshold: A density in (0, 1]; 1e-2 (``DensitySummary/defaultDenseThreshold``) by default.
    /// - Returns: The dense features, by density descending, ties in (component, feature) order.
    /// - Throws: What ``deadFeatures(run:in:threshold:)`` throws.
    public func denseFeatures(run name: String, in window: WindowSelection = .wholeRun,
                              threshold: Double = DensitySummary.defaultDenseThreshold) throws -> DenseFeatureReport {
        try DensityStore.requireDensityThreshold(threshold)
        let run = try run(named: name)
        let counts = try DensityStore.window(db, run, try DensityStore.resolve(window, db, run))
        return try DensityStore.denseFeatures(run, counts, threshold: threshold)
    }

    /// One feature's cumulative count at every checkpoint, reading only that feature's chunk.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - feature: The 0-based feature index.
    ///   - component: The 0-based component index (0 when the run has none).
    /// - Returns: One point per checkpoint, oldest first; none for a run not yet written.
    /// - Throws: ``StoreError/indexOutOfRange(run:what:index:size:)``, a damaged-chunk error.
    public func trend(run name: String, feature: Int, component: Int = 0) throws -> [TrendPoint] {
        try DensityStore.trend(db, try run(named: name), feature: feature, component: component)
    }

    // MARK: - Several runs, several questions

    /// Runs of the same width, summarized at one step from the summaries stored with their
    /// checkpoints (no counts are decoded).
    /// - Parameters:
    ///   - names: The runs' names, at least one.
    ///   - step: Each run is read at its latest checkpoint at or before the step compared at:
    ///     ``StepSpec/latest`` (the default) for the latest step every run has reached (the smallest
    ///     of their latest steps), a step for that step, else the checkpoint the spec names in the
    ///     first run (``StepSpec/resolve(in:run:)``).
    /// - Returns: The step and the runs' snapshots, in the order given.
    /// - Throws: ``QueryError/noRuns`` for no names,
    ///   ``QueryError/widthMismatch(first:firstShape:second:secondShape:)`` naming the first run
    ///   and the first of another width, ``StoreError/unknownRun(name:known:)``, a
    ///   ``SelectionError`` when a run has no checkpoint at or before the step.
    public func compare(_ names: [String], at step: StepSpec = .latest) throws -> RunComparison {
        let runs = try names.map { try run(named: $0) }
        guard let first = runs.first else { throw QueryError.noRuns }
        if let other = runs.firstIndex(where: { $0.features != first.features || $0.components != first.components }) {
            throw QueryError.widthMismatch(first: names[0], firstShape: first.describeShape,
                                           second: names[other], secondShape: runs[other].describeShape)
        }
        let at: Int64
        switch step {
        case .latest: at = try names.map { try checkpoint(run: $0, at: .latest).step }.min()!
        case .exact(let value): at = value
        default:
            guard let resolved = try resolve(step, run: names[0]) else { throw SelectionError.startIsNoCheckpoint(run: names[0]) }
            at = resolved
        }
        let snapshots = try runs.map { try DensityStore.overview(db, $0, at: try DensityStore.checkpoint(db, $0, at: .exact(at))) }
        return RunComparison(step: at, runs: snapshots)
    }

    /// Everything `density report` draws: the summaries of every checkpoint, the steps shown, the
    /// last quarter of them as the window whose risers, fallers and most recently dead are the
    /// default features, and the trends of the features drawn.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - from: The first step shown; `nil` or ``StepSpec/start`` for the first checkpoint.
    ///   - to: The last step shown; `nil` for the latest checkpoint.
    ///   - features: The flat indexes (`component * features + feature`) whose trends to read, or
    ///     `nil` to pick the risers, fallers and most recently dead.
    ///   - top: How many of each kind to pick.
    /// - Returns: The report's data.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a ``SelectionError``,
    ///   ``StoreError/indexOutOfRange(run:what:index:size:)`` for a feature outside the run, or a
    ///   damaged-chunk error.
    public func report(run name: String, from: StepSpec?, to: StepSpec?, features: [Int]?, top: Int) throws -> ReportSnapshot {
        try DensityStore.report(db, try run(named: name), from: from, to: to, features: features, top: top)
    }

    // MARK: - Histories

    /// The cumulative counts of some (component, feature) pairs at every checkpoint: each stored
    /// chunk holding one of the pairs is walked once in step order, and only the pairs' values are
    /// decoded from it (as ``trend(run:feature:component:)`` does for one).
    ///
    /// Memory is the answer's, `checkpoints x pairs` counts, and one chunk's scratch.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - pairs: The pairs, in the order the columns are wanted; repeats are allowed.
    /// - Returns: The checkpoints and the counts, `[checkpoints, pairs]`.
    /// - Throws: ``StoreError/unknownRun(name:known:)``,
    ///   ``StoreError/indexOutOfRange(run:what:index:size:)`` for a pair outside the run, or a
    ///   damaged-chunk error.
    public func featureHistory(run name: String, pairs: [FeatureHistory.Pair]) throws -> FeatureHistory {
        try DensityStore.featureHistory(db, try run(named: name), pairs: pairs)
    }

    /// Calls `body` with every checkpoint of a run and its whole state, oldest first, holding one
    /// state at a time; each is checked to follow the one before.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - body: Called once a checkpoint; what it throws ends the walk.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, a damaged-chunk error, or what `body` throws.
    public func forEachState(run name: String, _ body: (Checkpoint, DensityState) throws -> Void) throws {
        try DensityStore.forEachState(db, try run(named: name), body)
    }
}

@available(*, unavailable)
extension StoreSnapshot: Sendable {}

extension DensityStore {
    /// Answers questions in one read transaction: `body` gets a ``StoreSnapshot`` and asks all it
    /// needs of it, and everything it reads comes from one committed state of the store.
    ///
    /// On a mirror (``StoreMirror``) on NFS, `body` may run more than once: when the mirror is
    /// replaced under it, it is asked again from its start on the new snapshot. So `body` should
    /// ask, and leave output for after it returns.
    ///
    /// Related SQLite documentation: <https://sqlite.org/isolation.html>
    /// - Parameter body: The questions; the snapshot is valid only during this call.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, or a ``StoreError`` when the store cannot be read.
    public func read<T>(_ body: (StoreSnapshot) throws -> T) throws -> T {
        try withConnection { db in
            try db.inTransaction(.deferred) { try body(StoreSnapshot(db: db)) }
        }
    }
}
