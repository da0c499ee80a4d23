public import DensityMetric

// MARK: - Questions about a run's history: dead and dense features in a window, two runs compared

extension DensityStore {
    // MARK: - Windows

    /// The shortest window ending at the run's latest checkpoint that holds at least `vectors`
    /// activation vectors, from the checkpoints' cumulative vectors (no counts are decoded), inside
    /// the caller's transaction; `from` is `nil` when only the whole run holds enough.
    /// - Throws: ``StoreError/settingOutOfRange(_:value:expected:)``, ``QueryError/notEnoughVectors(run:requested:available:)``
    ///   when the whole run holds fewer.
    static func recentWindow(_ db: Connection, _ run: Run, holding vectors: Int64) throws -> WindowBounds {
        let name = run.name
        guard vectors > 0 else {
            throw StoreError.settingOutOfRange(.windowVectors, value: String(vectors), expected: "a positive number of vectors")
        }
        let checkpoints = try checkpoints(db, run)
        guard let last = checkpoints.last else { throw SelectionError.noCheckpointYet(run: name, pending: []) }
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

    /// ``StoreSnapshot/deadFeatures(run:in:threshold:)`` over a resolved window, inside the caller's transaction.
    static func deadFeatures(_ db: Connection, _ run: Run, _ window: StepWindow, threshold: Double?) throws
        -> DeadFeatureReport
    {
        let name = run.name
        let checkpoints = try checkpoints(db, run)
        // Checkpoint indexes; -1 is the empty state before the first checkpoint.
        guard let end = checkpoints.firstIndex(where: { $0.step == window.to }),
              let start = window.from.map({ from in checkpoints.firstIndex { $0.step == from } }) ?? -1 else {
            throw DeltaChain.damaged(run, step: window.to, "a checkpoint listed in the window cannot be read")
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
        let checkpointAt = { (index: Int) -> Checkpoint? in index < 0 ? nil : checkpoints[index] }
        try requireFollows(run, [(checkpointAt(start), startState), (checkpoints[end], endState)])
        let window = WindowBounds(from: step(start), to: checkpoints[end].step, vectors: endState.vectors - startState.vectors)
        guard window.vectors > 0 else { throw StoreError.emptyWindow(run: name, from: window.from, to: window.to) }
        var previousWindow: WindowBounds?
        var previousState: DensityState?
        if let previousStart {
            let state = try stateAt(previousStart)
            try requireFollows(run, [(checkpointAt(previousStart), state), (checkpointAt(start), startState)])
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

    /// The dense features of a window's counts.
    static func denseFeatures(_ run: Run, _ window: DensityWindow, threshold: Double) throws -> DenseFeatureReport {
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

    // MARK: - Arguments

    /// Checks that a density threshold is in (0, 1].
    static func requireDensityThreshold(_ threshold: Double) throws {
        guard threshold > 0, threshold <= 1 else {
            throw StoreError.settingOutOfRange(.threshold, value: String(threshold), expected: "a density in (0, 1]")
        }
    }
}
