// MARK: - What a report draws, in one read

extension DensityStore {
    /// Everything `density report` draws (``StoreSnapshot/report(run:from:to:features:top:)``), inside the caller's transaction: the summaries of every
    /// checkpoint, the steps shown, the last quarter of them as the window whose risers, fallers
    /// and most recently dead are the default features, and the trends of the features drawn.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - from: The first step shown (``StepSpec/resolve(in:run:)``); `nil` or ``StepSpec/start``
    ///     for the first checkpoint.
    ///   - to: The last step shown; `nil` for the latest checkpoint.
    ///   - features: The flat indexes (`component * features + feature`) whose trends to read, or
    ///     `nil` to pick the risers, fallers and most recently dead.
    ///   - top: How many of each kind to pick.
    /// - Returns: The snapshot.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, ``SelectionError/noCheckpointYet(run:pending:)``,
    ///   a ``SelectionError`` for a step that names no checkpoint, ``StoreError/indexOutOfRange(run:what:index:size:)``
    ///   for a feature outside the run, or a damaged-chunk error.
    static func report(_ db: Connection, _ run: Run, from: StepSpec?, to: StepSpec?, features: [Int]?, top: Int) throws
        -> ReportSnapshot
    {
                let name = run.name
                let steps = try Self.checkpointSteps(db, run)
                let summaries = try Self.summaries(db, run)
                let lower = try from?.resolve(in: steps, run: name) ?? steps[0]
                let upper = try to?.resolve(in: steps, run: name) ?? steps[steps.count - 1]
                let shown = steps.filter { (lower...max(lower, upper)).contains($0) }
                var movers: WindowMovers?
                if features == nil, lower <= upper, shown.count >= 2 {
                    let end = shown[shown.count - 1]
                    let start = shown[shown.count - 1 - max(1, (shown.count - 1) / 4)]
                    movers = try Self.movers(db, run, window: StepWindow(from: start, to: end), steps: steps, top: top,
                                             recentlyDead: top)
                }
                let picked = features ?? movers.map { movers in
                    (movers.previous?.vectors ?? 0) > 0
                        ? (movers.risers.map(\.index) + movers.fallers.map(\.index) + movers.recentlyDead.map(\.index)) : []
                } ?? []
                var trends: [Int: [TrendPoint]] = [:]
                for index in picked where trends[index] == nil {
                    trends[index] = try Self.trend(db, run, feature: index % run.features, component: index / run.features)
                }
                return ReportSnapshot(run: run, summaries: summaries, lower: lower, upper: upper, movers: movers,
                                      trends: trends)
    }
}
