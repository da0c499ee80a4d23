import DensityMetric
import DensityStore
import DensityViews

/// Everything a report shows, from one read of the store (``DensityStore/report(run:from:to:features:top:)``,
/// one transaction, so a concurrent append, compaction or rewind cannot mix two states), with the
/// meaning of each number kept in the library calls the query commands make: the summaries as
/// ``DensityStore/summaries(run:)`` (as `show` reads one checkpoint's), the trends as
/// ``DensityStore/trend(run:feature:component:)`` thinned and windowed by ``TrendCommand`` (as
/// `trend` does), and the movers as ``DensityStore/movers(run:window:top:recentlyDead:)`` (as `diff`
/// lists them). This type only shapes them for drawing.
struct ReportData {
    /// One feature (of one component) whose trend the report draws.
    struct FeatureRef: Hashable, CustomStringConvertible {
        /// The component, or `nil` for the first (or only) one.
        var component: Int?
        var feature: Int

        /// `7`, or `1:7` for feature 7 of component 1.
        var description: String { component.map { "\($0):\(feature)" } ?? String(feature) }

        /// Parses `F` or `C:F`.
        init?(_ text: Substring) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 1, let feature = Int(parts[0]), feature >= 0 {
                self.init(component: nil, feature: feature)
            } else if parts.count == 2, let component = Int(parts[0]), let feature = Int(parts[1]), component >= 0, feature >= 0 {
                self.init(component: component, feature: feature)
            } else {
                return nil
            }
        }

        init(component: Int?, feature: Int) {
            self.component = component
            self.feature = feature
        }

        /// Parses a comma-separated list: `3,17,1:5`.
        static func list(_ text: String) -> [FeatureRef]? {
            let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.filter { $0 != " " } }
            let refs = items.compactMap { FeatureRef(Substring($0)) }
            return refs.count == items.count && !refs.isEmpty ? refs : nil
        }
    }

    /// A feature's trend over the steps shown: what `density trend RUN --feature F [--every K]`
    /// prints for those steps.
    struct FeatureTrend {
        var ref: FeatureRef
        /// Why it is shown: `given`, `riser`, `faller` or `recently dead`, with the numbers.
        var reason: String
        /// The thinning passed to `trend --every`, or `nil` for every checkpoint.
        var every: Int?
        /// The points kept within the steps shown, and their window densities (against the
        /// previous kept point, which may precede the steps shown; `nil` for the run's first).
        var points: [TrendPoint]
        var windows: [Double?]
    }

    /// The window the default features are picked from: (from, to] against the previous window of
    /// the same length, exactly as `density diff RUN --from FROM --to TO --top N` lists risers and
    /// fallers.
    struct Movers {
        var from: Int64
        var to: Int64
        /// The previous window's start; `nil` for the start of the run.
        var previousFrom: Int64?
        var top: Int
        /// Ranked by the library (``DensityStore/movers(run:window:top:)``), as `diff` lists them.
        var risers: [WindowMovers.Change]
        var fallers: [WindowMovers.Change]
        /// Features silent in the window that fired before it, the most recently active first:
        /// (flat index, the checkpoint at which its count last rose).
        var recentlyDead: [(index: Int, lastRose: Int64)]
    }

    /// At most this many heatmap columns; thinned evenly, keeping the first and the last.
    static let maxHeatmapColumns = 200
    /// At most this many points in the dead/dense and vectors charts.
    static let maxLinePoints = 1000
    /// At most about this many trend points within the steps shown (thinned with `--every K`).
    static let maxTrendPoints = 200

    var run: Run
    /// Every checkpoint step of the run.
    var steps: [Int64]
    /// The checkpoints shown (within --from/--to) with their stored summaries.
    var shown: [(checkpoint: Checkpoint, summary: DensitySummary)]
    /// Indexes into ``shown`` of the heatmap's columns.
    var heatmapColumns: [Int]
    /// Indexes into ``shown`` of the line charts' points.
    var linePoints: [Int]
    /// The window the default features come from (nil when features were given or the steps shown
    /// hold a single checkpoint).
    var movers: Movers?
    var trends: [FeatureTrend]

    /// The latest checkpoint shown and its summary.
    var latest: (checkpoint: Checkpoint, summary: DensitySummary) { shown[shown.count - 1] }

    // MARK: - Loading

    /// Reads what the report shows.
    /// - Parameters:
    ///   - store: The store, open for reading.
    ///   - name: The run's name.
    ///   - from: The first step shown (`nil`: the first checkpoint); a checkpoint name resolves as
    ///     in the other commands, an exact step is a bound.
    ///   - to: The last step shown (`nil`: the latest).
    ///   - features: The features to draw trends of, or `nil` to pick risers, fallers and the
    ///     most recently dead.
    ///   - top: How many of each kind to pick.
    ///   - progress: Called with what is being read.
    static func load(store: DensityStore, run name: String, from: StepSpec?, to: StepSpec?, features: [FeatureRef]?,
                     top: Int = 2, progress: (String) -> Void = { _ in }) throws -> ReportData {
        // Given features are checked against the run's width (which never changes) before anything is read.
        progress("reading the run's summaries, the last window and the feature trends")
        let snapshot = try store.read { snapshot in
            var indexes: [Int]?
            if let features {
                let run = try snapshot.run(named: name)
                try validate(features, run: run)
                indexes = features.map { $0.index(in: run) }
            }
            return try snapshot.report(run: name, from: from, to: to, features: indexes, top: top)
        }
        let run = snapshot.run
        let steps = snapshot.summaries.map(\.checkpoint.step)
        let (lower, upper) = (snapshot.lower, snapshot.upper)
        let shown = snapshot.shown
        guard lower <= upper, !shown.isEmpty else {
            throw CLIError("run '\(name)' has no checkpoint from step \(lower) to step \(upper) (its checkpoints go from \(steps[0]) to \(steps[steps.count - 1]))")
        }
        var data = ReportData(
            run: run, steps: steps, shown: shown,
            heatmapColumns: TrendCommand.thin(shown.count, every: nil, points: maxHeatmapColumns),
            linePoints: TrendCommand.thin(shown.count, every: nil, points: maxLinePoints),
            movers: nil, trends: [])
        var picks: [(FeatureRef, String)]
        if let features {
            picks = features.map { ($0, "given") }
        } else {
            data.movers = snapshot.movers.flatMap { Movers($0, top: top) }
            picks = data.movers.map { data.picks(from: $0) } ?? []
        }
        var seen = Set<FeatureRef>()
        picks = picks.filter { seen.insert($0.0).inserted }
        for (ref, reason) in picks {
            let index = ref.index(in: run)
            guard let points = snapshot.trends[index] else {
                throw CLIError("the report read no trend of feature \(ref) of run '\(name)'")
            }
            data.trends.append(trend(points, ref: ref, reason: reason, range: lower...upper))
        }
        return data
    }

    /// A --from/--to bound: the checkpoint the spec names (``StepSpec/resolve(in:run:)``, the one
    /// meaning of a step); start as no bound.
    static func bound(_ spec: StepSpec?, in steps: [Int64], run: String) throws -> Int64? {
        try spec?.resolve(in: steps, run: run)
    }

    /// Checks given features against the run's width, before anything is read.
    static func validate(_ features: [FeatureRef], run: Run) throws {
        for ref in features {
            if ref.component != nil && run.components == nil {
                throw CLIError("run '\(run.name)' has no components; write --features without 'C:' (got \(ref))")
            }
            guard ref.feature < run.features else {
                throw StoreError.indexOutOfRange(run: run.name, what: "feature", index: ref.feature, size: run.features)
            }
            if let component = ref.component, component >= run.components ?? 1 {
                throw StoreError.indexOutOfRange(run: run.name, what: "component", index: component, size: run.components ?? 1)
            }
        }
    }

    /// A feature's trend, thinned to about ``maxTrendPoints`` within the steps shown with the
    /// same `every` thinning and window densities as `density trend --every K`.
    /// - Parameter all: The feature's count at every checkpoint (``DensityStore/trend(run:feature:component:)``).
    static func trend(_ all: [TrendPoint], ref: FeatureRef, reason: String, range: ClosedRange<Int64>) -> FeatureTrend {
        let inRange = all.lazy.filter { range.contains($0.step) }.count
        let every = inRange > maxTrendPoints ? (inRange + maxTrendPoints - 1) / maxTrendPoints : nil
        let kept = TrendCommand.thin(all.count, every: every, points: nil).map { all[$0] }
        let windows = TrendCommand.windowDensities(kept)
        let shown = kept.indices.filter { range.contains(kept[$0].step) }
        return FeatureTrend(ref: ref, reason: reason, every: every, points: shown.map { kept[$0] },
                            windows: shown.map { windows[$0] })
    }

    // MARK: - Default features

    /// The trends to draw by default: the risers, the fallers and the most recently dead, in that
    /// order, with why each was picked.
    func picks(from movers: Movers) -> [(FeatureRef, String)] {
        func ref(_ index: Int) -> FeatureRef {
            FeatureRef(component: run.components == nil ? nil : index / run.features, feature: index % run.features)
        }
        let previous = "(\(movers.previousFrom.map(String.init) ?? "start"), \(movers.from)]"
        let window = "(\(movers.from), \(movers.to)]"
        return movers.risers.map { (ref($0.index), "riser: \(Console.format($0.before)) in \(previous) -> \(Console.format($0.now)) in \(window)") }
            + movers.fallers.map { (ref($0.index), "faller: \(Console.format($0.before)) in \(previous) -> \(Console.format($0.now)) in \(window)") }
            + movers.recentlyDead.map {
                (ref($0.index), "recently dead: its count last rose at step \($0.lastRose), and never since (to step \(movers.to))")
            }
    }

    /// What `diff` lists for the window (from, to]: the risers and fallers against the previous
    /// window (``StepWindow/previous(in:)``), and up to `recentlyDead` of the most recently dead
    /// features (``DensityStore/movers(run:window:top:recentlyDead:)``, one read); `nil` when
    /// either window holds no vectors.
    static func movers(_ store: StoreSnapshot, run: Run, from start: Int64, to end: Int64, top: Int,
                       recentlyDead deadLimit: Int) throws -> Movers? {
        Movers(try store.movers(run: run.name, window: WindowSpec(StepWindow(from: start, to: end)), top: top,
                                recentlyDead: deadLimit), top: top)
    }

    /// The features silent in `window` that fired before it, those whose count last rose latest
    /// first (ties by index), as the library finds them (``WindowMovers/recentlyDead``).
    static func recentlyDead(store: DensityStore, run: Run, steps: [Int64], window: DensityWindow,
                             limit: Int) throws -> [(index: Int, lastRose: Int64)] {
        guard limit > 0, window.from != nil else { return [] }
        return try store.read { snapshot in
            try snapshot.movers(run: run.name, window: WindowSpec(StepWindow(from: window.from, to: window.to)), top: 0,
                                recentlyDead: limit)
        }.recentlyDead.map { ($0.index, $0.lastRose) }
    }
}

extension ReportData.Movers {
    /// What a report and a live view list of a window's movers; `nil` when the window starts at
    /// the start of the run or the previous window holds no vectors.
    init?(_ found: WindowMovers, top: Int) {
        guard let previous = found.previous, previous.vectors > 0, let from = found.window.from else { return nil }
        self.init(from: from, to: found.window.to, previousFrom: previous.from, top: top, risers: found.risers,
                  fallers: found.fallers, recentlyDead: found.recentlyDead.map { ($0.index, $0.lastRose) })
    }
}

extension ReportData.FeatureRef {
    /// The flat index of the feature in `run`: `component * features + feature`.
    func index(in run: Run) -> Int { (component ?? 0) * run.features + feature }
}
