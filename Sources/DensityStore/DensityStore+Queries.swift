public import DensityMetric

// MARK: - Questions about a run's history: dead and dense features in a window, two runs compared

extension DensityStore {
    // MARK: - Windows

    /// The shortest window ending at the run's latest checkpoint that holds at least `vectors`
    /// activation vectors, from the checkpoints' cumulative vectors (no counts are decoded).
    /// - Parameters:
    ///   - name: The run's name.
    ///   - vectors: The least number of vectors the window must hold, positive.
    /// - Returns: The window; `from` is `nil` when only the whole run holds enough.
    /// - Throws: ``QueryError/nonPositiveVectors(_:)``, ``QueryError/notEnoughVectors(run:requested:available:)``
    ///   when the whole run holds fewer, ``StoreError/noCheckpoint(run:atOrBefore:)`` for a run without
    ///   checkpoints, ``StoreError/unknownRun(name:known:)``.
    public func recentWindow(run name: String, holding vectors: Int64) throws -> WindowBounds {
        try withConnection { db in
            try db.inTransaction(.deferred) { try Self.recentWindow(db, try Self.requireRun(db, name), holding: vectors) }
        }
    }

    /// ``recentWindow(run:holding:)`` inside the caller's transaction.
    static func recentWindow(_ db: Connection, _ run: Run, holding vectors: Int64) throws -> WindowBounds {
        let name = run.name
        guard vectors > 0 else { throw QueryError.nonPositiveVectors(vectors) }
        let checkpoints = try db.query("SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                                       [.integer(run.id)], row: readCheckpoint)
        guard let last = checkpoints.last else { throw StoreError.noCheckpoint(run: name, atOrBefore: nil) }
        // Vectors never decrease, so the first start found walking back is the shortest window.
        for checkpoint in checkpoints.dropLast().reversed() where last.vectors - checkpoint.vectors >= vectors {
            return WindowBounds(from: checkpoint.step, to: last.step, vectors: last.vectors - checkpoint.vectors)
        }
        guard last.vectors >= vectors else {
            throw QueryError.notEnoughVectors(run: name, requested: vectors, available: last.vectors)
        }
        return WindowBounds(from: nil, to: last.step, vectors: last.vectors)
    }

    // MARK: - Dead features

    /// The features dead in a window (from, to], each with the last step it fired at, and the
    /// features that revived in it.
    ///
    /// Dead means no firing in the window (count 0), or, with `threshold`, a window density below
    /// it. A feature's last fired step is the last checkpoint, at or before the window's end, whose
    /// cumulative count is above the previous checkpoint's: exact, found per chunk from its
    /// keyframes and only the delta chains that hold a listed feature's last firing
    /// (``lastFiredSteps(_:_:checkpoints:end:features:final:)``). Everything is read in one
    /// transaction, so a concurrent append, compaction or rewind cannot fail it or mix two states.
    ///
    /// Revived: dead in the previous window (``StepWindow/previous(in:)``: the same length in
    /// steps, ending where this one starts) and not dead in this one. There is no window before
    /// when this one starts at the start of the run, or when it holds no vectors.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - from: The window starts after the latest checkpoint at or before this step; `nil` for
    ///     the start of the run.
    ///   - to: The window ends at the latest checkpoint at or before this step; `nil` for the
    ///     latest checkpoint.
    ///   - threshold: `nil` for "count 0"; else a density in (0, 1] that a dead feature is below.
    /// - Returns: The dead and revived features, in (component, feature) order.
    /// - Throws: ``QueryError/thresholdOutOfRange(_:)``, ``StoreError/unknownRun(name:known:)``,
    ///   ``StoreError/noCheckpoint(run:atOrBefore:)`` when a bound precedes every checkpoint,
    ///   ``StoreError/invalidWindow(run:from:to:)`` when `from` does not resolve before `to`,
    ///   ``StoreError/emptyWindow(run:from:to:)`` when the window holds no vectors, or a
    ///   damaged-chunk error.
    public func deadFeatures(run name: String, from: Int64? = nil, to: Int64? = nil, threshold: Double? = nil) throws
        -> DeadFeatureReport
    {
        if let threshold { try Self.requireDensityThreshold(threshold) }
        if let from, let to, from >= to { throw StoreError.invalidWindow(run: name, from: from, to: to) }
        return try withConnection { db in
            try db.inTransaction(.deferred) {
                try Self.deadFeatures(db, try Self.requireRun(db, name), from: from, to: to, threshold: threshold)
            }
        }
    }

    /// ``deadFeatures(run:from:to:threshold:)`` for a window as written, resolved
    /// (``resolve(_:run:)-(WindowSpec,_)``) in the same transaction that reads it: one snapshot.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The window as written.
    ///   - threshold: `nil` for "count 0"; else a density in (0, 1] that a dead feature is below.
    /// - Returns: The dead and revived features.
    /// - Throws: What ``resolve(_:run:)-(WindowSpec,_)`` and ``deadFeatures(run:from:to:threshold:)`` throw.
    public func deadFeatures(run name: String, window spec: WindowSpec, threshold: Double? = nil) throws -> DeadFeatureReport {
        if let threshold { try Self.requireDensityThreshold(threshold) }
        return try reading(run: name, Self.resolving(spec)) { db, run, from, to in
            try Self.deadFeatures(db, run, from: from, to: to, threshold: threshold)
        }
    }

    /// ``deadFeatures(run:from:to:threshold:)`` for the shortest window ending at the latest
    /// checkpoint that holds at least `vectors` activation vectors (``recentWindow(run:holding:)``),
    /// chosen in the same transaction that reads it: one snapshot.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - vectors: The least number of vectors the window must hold, positive.
    ///   - threshold: `nil` for "count 0"; else a density in (0, 1] that a dead feature is below.
    /// - Returns: The dead and revived features.
    /// - Throws: ``SelectionError/noCheckpointYet(run:pending:)`` for a run without checkpoints, then
    ///   what ``recentWindow(run:holding:)`` and ``deadFeatures(run:from:to:threshold:)`` throw.
    public func deadFeatures(run name: String, lastVectors vectors: Int64, threshold: Double? = nil) throws -> DeadFeatureReport {
        if let threshold { try Self.requireDensityThreshold(threshold) }
        return try reading(run: name, Self.recent(holding: vectors)) { db, run, from, to in
            try Self.deadFeatures(db, run, from: from, to: to, threshold: threshold)
        }
    }

    /// ``deadFeatures(run:from:to:threshold:)`` inside the caller's transaction: one snapshot.
    private static func deadFeatures(_ db: Connection, _ run: Run, from: Int64?, to: Int64?, threshold: Double?) throws
        -> DeadFeatureReport
    {
        let name = run.name
        let checkpoints = try db.query("SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                                       [.integer(run.id)], row: readCheckpoint)
        guard !checkpoints.isEmpty else { throw StoreError.noCheckpoint(run: name, atOrBefore: nil) }
        guard let end = checkpoints.lastIndex(where: { $0.step <= to ?? .max }) else {
            throw StoreError.noCheckpoint(run: name, atOrBefore: to)
        }
        // Checkpoint indexes; -1 is the empty state before the first checkpoint.
        var start = -1
        if let from {
            guard let index = checkpoints.lastIndex(where: { $0.step <= from }) else {
                throw StoreError.noCheckpoint(run: name, atOrBefore: from)
            }
            guard index < end else {
                throw StoreError.invalidWindow(run: name, from: checkpoints[index].step, to: checkpoints[end].step)
            }
            start = index
        }
        let step = { (index: Int) -> Int64? in index < 0 ? nil : checkpoints[index].step }
        let steps = checkpoints.map(\.step)
        let previousStart: Int? = StepWindow(from: step(start), to: checkpoints[end].step).previous(in: steps).map { previous in
            previous.from.flatMap { steps.firstIndex(of: $0) } ?? -1
        }

        // The states at the window's bounds (each its keyframe and delta chain), in this snapshot.
        let width = (run.components ?? 1) * run.features
        let empty = try DensityState(features: run.features, components: run.components)
        let zstd = Zstd()
        let stateAt = { (index: Int) throws -> DensityState in
            index < 0 ? empty : try readState(db, run, checkpoints[index], zstd: zstd)
        }
        let endState = try stateAt(end), startState = try stateAt(start)
        let window = WindowBounds(from: step(start), to: checkpoints[end].step, vectors: endState.vectors - startState.vectors)
        guard window.vectors > 0 else { throw StoreError.emptyWindow(run: name, from: window.from, to: window.to) }
        var previousWindow: WindowBounds?
        var previousState: DensityState?
        if let previousStart {
            let state = try stateAt(previousStart)
            let bounds = WindowBounds(from: step(previousStart), to: checkpoints[start].step,
                                      vectors: startState.vectors - state.vectors)
            if bounds.vectors > 0 {
                previousWindow = bounds
                previousState = state
            }
        }

        let isDead: (Int64, Int64) -> Bool = threshold.map { threshold in
            { count, vectors in Double(count) / Double(vectors) < threshold }
        } ?? { count, _ in count == 0 }
        var dead: [(index: Int, count: Int64)] = []
        var revived: [(index: Int, count: Int64)] = []
        for index in 0..<width {
            let count = endState.counts[index] - startState.counts[index]
            if isDead(count, window.vectors) {
                dead.append((index, count))
            } else if let previousWindow, let previousState,
                      isDead(startState.counts[index] - previousState.counts[index], previousWindow.vectors) {
                revived.append((index, count))
            }
        }
        // The last firings of the features listed only: keyframes and the chains holding them.
        let lastFired = try lastFiredSteps(db, run, checkpoints: checkpoints, end: end,
                                           features: (dead + revived).map(\.index), final: endState.counts)
        let feature = { (item: (index: Int, count: Int64)) in
            DeadFeature(component: run.components == nil ? nil : item.index / run.features, feature: item.index % run.features,
                        count: item.count, lastFiredStep: lastFired[item.index])
        }
        return DeadFeatureReport(run: name, window: window, threshold: threshold, width: width, dead: dead.map(feature),
                                 previous: previousWindow, revived: previousWindow == nil ? nil : revived.map(feature))
    }

    // MARK: - Dense features

    /// The features whose density in a window (from, to] is at least `threshold`, densest first.
    ///
    /// Reads the two states at the window's bounds (``window(run:from:to:)``).
    /// - Parameters:
    ///   - name: The run's name.
    ///   - from: The window starts after the latest checkpoint at or before this step; `nil` for
    ///     the start of the run.
    ///   - to: The window ends at the latest checkpoint at or before this step; `nil` for the
    ///     latest checkpoint.
    ///   - threshold: A density in (0, 1]; 1e-2 (``DensitySummary/defaultDenseThreshold``) by default.
    /// - Returns: The dense features, by density descending, ties in (component, feature) order.
    /// - Throws: ``QueryError/thresholdOutOfRange(_:)``, ``StoreError/unknownRun(name:known:)``,
    ///   ``StoreError/noCheckpoint(run:atOrBefore:)``, ``StoreError/invalidWindow(run:from:to:)``,
    ///   ``StoreError/emptyWindow(run:from:to:)``, or a damaged-chunk error.
    public func denseFeatures(
        run name: String, from: Int64? = nil, to: Int64? = nil,
        threshold: Double = DensitySummary.defaultDenseThreshold
    ) throws -> DenseFeatureReport {
        try Self.requireDensityThreshold(threshold)
        if let from, let to, from >= to { throw StoreError.invalidWindow(run: name, from: from, to: to) }
        return try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                let window: DensityWindow
                do {
                    window = try Self.window(db, run, from: from, to: to ?? .max)
                } catch StoreError.noCheckpoint(let run, let step) where to == nil && step == .max {
                    throw StoreError.noCheckpoint(run: run, atOrBefore: nil)
                }
                return try Self.denseFeatures(run, window, threshold: threshold)
            }
        }
    }

    /// ``denseFeatures(run:from:to:threshold:)`` for a window as written, resolved and read in one
    /// transaction (``window(run:_:)``).
    /// - Parameters:
    ///   - name: The run's name.
    ///   - spec: The window as written.
    ///   - threshold: A density in (0, 1].
    /// - Returns: The dense features, by density descending.
    /// - Throws: What ``window(run:_:)`` and ``denseFeatures(run:from:to:threshold:)`` throw.
    public func denseFeatures(run name: String, window spec: WindowSpec,
                              threshold: Double = DensitySummary.defaultDenseThreshold) throws -> DenseFeatureReport {
        try Self.requireDensityThreshold(threshold)
        return try reading(run: name, Self.resolving(spec)) { db, run, from, to in
            try Self.denseFeatures(run, try Self.window(db, run, from: from, to: to), threshold: threshold)
        }
    }

    /// ``denseFeatures(run:from:to:threshold:)`` for the shortest window ending at the latest
    /// checkpoint that holds at least `vectors` activation vectors (``recentWindow(run:holding:)``),
    /// chosen in the same transaction that reads it: one snapshot.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - vectors: The least number of vectors the window must hold, positive.
    ///   - threshold: A density in (0, 1].
    /// - Returns: The dense features, by density descending.
    /// - Throws: ``SelectionError/noCheckpointYet(run:pending:)`` for a run without checkpoints, then
    ///   what ``recentWindow(run:holding:)`` and ``denseFeatures(run:from:to:threshold:)`` throw.
    public func denseFeatures(run name: String, lastVectors vectors: Int64,
                              threshold: Double = DensitySummary.defaultDenseThreshold) throws -> DenseFeatureReport {
        try Self.requireDensityThreshold(threshold)
        return try reading(run: name, Self.recent(holding: vectors)) { db, run, from, to in
            try Self.denseFeatures(run, try Self.window(db, run, from: from, to: to), threshold: threshold)
        }
    }

    /// The dense features of a window's counts.
    private static func denseFeatures(_ run: Run, _ window: DensityWindow, threshold: Double) throws -> DenseFeatureReport {
        let name = run.name
        let vectors = window.state.vectors
        guard vectors > 0 else { throw StoreError.emptyWindow(run: name, from: window.from, to: window.to) }
        let counts = window.state.counts
        var dense = counts.indices.filter { Double(counts[$0]) / Double(vectors) >= threshold }
        dense.sort { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }  // one window: count orders density
        return DenseFeatureReport(
            run: name, window: WindowBounds(from: window.from, to: window.to, vectors: vectors), threshold: threshold,
            width: counts.count,
            dense: dense.map { index in
                DenseFeature(component: run.components == nil ? nil : index / run.features, feature: index % run.features,
                             count: counts[index], density: Double(counts[index]) / Double(vectors))
            })
    }

    // MARK: - Two runs

    /// Two runs of the same width, summarized at one step from the summaries stored with their
    /// checkpoints (no counts are decoded).
    /// - Parameters:
    ///   - first: The first run's name.
    ///   - second: The second run's name.
    ///   - step: Each run is read at its latest checkpoint at or before this step; `nil` for the
    ///     latest step both runs have reached (the smaller of their latest steps).
    /// - Returns: The step and both runs' snapshots, in the order given.
    /// - Throws: ``QueryError/widthMismatch(first:firstShape:second:secondShape:)`` naming both
    ///   widths, ``StoreError/unknownRun(name:known:)``, ``StoreError/noCheckpoint(run:atOrBefore:)``
    ///   when a run has no checkpoint at or before the step.
    public func compare(_ first: String, _ second: String, atOrBefore step: Int64? = nil) throws -> RunComparison {
        try compare(runs: [first, second], atOrBefore: step)
    }

    // MARK: - One snapshot

    /// Chooses a window (its `from` and `to` steps) in a read transaction.
    private typealias WindowChoice = @Sendable (Connection, Run) throws -> (from: Int64?, to: Int64)

    /// Chooses a window and answers a query over it in one read transaction: one snapshot, so a
    /// concurrent append, compaction or rewind cannot move the window between the two.
    private func reading<T: Sendable>(run name: String, _ choose: WindowChoice,
                                      _ query: @Sendable (Connection, Run, _ from: Int64?, _ to: Int64) throws -> T) throws -> T {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let run = try Self.requireRun(db, name)
                let window = try choose(db, run)
                return try query(db, run, window.from, window.to)
            }
        }
    }

    /// A window as written (``resolve(_:run:)-(WindowSpec,_)``).
    private static func resolving(_ spec: WindowSpec) -> WindowChoice {
        { db, run in
            let window = try resolve(spec, in: checkpointSteps(db, run), run: run.name)
            return (window.from, window.to)
        }
    }

    /// The shortest window ending at the latest checkpoint that holds at least `vectors` vectors
    /// (``recentWindow(run:holding:)``); a run without checkpoints says why it has none.
    private static func recent(holding vectors: Int64) -> WindowChoice {
        { db, run in
            _ = try checkpointSteps(db, run)
            let window = try recentWindow(db, run, holding: vectors)
            return (window.from, window.to)
        }
    }

    // MARK: - Arguments

    /// Checks that a density threshold is in (0, 1].
    static func requireDensityThreshold(_ threshold: Double) throws {
        guard threshold > 0, threshold <= 1 else { throw QueryError.thresholdOutOfRange(threshold) }
    }
}
