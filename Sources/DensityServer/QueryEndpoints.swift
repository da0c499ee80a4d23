import DensityMetric
import DensityStore
import DensityViews

/// The JSON API: each endpoint reads what the CLI command of the same name reads, resolves its
/// parameters as the command resolves its options, and answers with the command's `--format json`
/// document (``QueryJSON``).
enum QueryEndpoints {
    /// The most features one histogram bin lists.
    static let maxBinFeatures = 1_000

    /// `GET /api/runs` = `density runs --format json`.
    static func runs(_ store: DensityStore) throws -> JSONValue {
        let (mirror, rows) = try store.read { (try $0.mirrorOrigin(), try $0.sweep()) }
        return SweepJSON.runs(rows.map { SweepJSON.Entry(name: $0.run.name, store: store.path, mirror: mirror, row: $0) })
    }

    /// `GET /api/runs/RUN/show?step=S` = `density show RUN --step S --format json`.
    static func show(_ store: DensityStore, run name: String, _ query: QueryParameters) throws -> JSONValue {
        let step = try query.step("step") ?? .latest
        if step == .start { throw RequestError.bad("step", "step=start names no checkpoint; use first, latest, or a step") }
        let overview = try parameter("step") { try store.read { try $0.overview(run: name, at: step) } }
        return QueryJSON.show(run: overview.run, checkpoint: overview.checkpoint, summary: overview.summary,
                              pending: overview.pending)
    }

    /// `GET /api/runs/RUN/diff?from=A&to=B` (or `window=A:B`) = `density diff RUN --from A --to B --format json`.
    static func diff(_ store: DensityStore, run name: String, _ query: QueryParameters) throws -> JSONValue {
        let (from, to, spelled) = try windowSpelling(query, required: true)
        // As `density diff`: the window and the previous one read in one transaction.
        var densities: [Double] = []
        let (run, movers) = try parameter(spelled ?? "from") {
            try store.read { snapshot in
                (try snapshot.run(named: name),
                 try snapshot.movers(run: name, window: WindowSpec(from: from, to: to), top: 0) { window, _, counts in
                     densities += counts.lazy.map { DensityState.density(count: $0, vectors: window.vectors) }
                 })
            }
        }
        return QueryJSON.diff(run: run, window: movers.window, densities: densities, previous: movers.previous)
    }

    /// `GET /api/runs/RUN/trend?feature=F[&component=C][&points=N|&every=K]` = `density trend`.
    static func trend(_ store: DensityStore, run name: String, _ query: QueryParameters) throws -> JSONValue {
        let (run, feature, component, points, windows) = try trendPoints(store, run: name, query)
        return QueryJSON.trend(run: run, feature: feature, component: component, points: points, windows: windows)
    }

    /// The points `trend` answers with, for its JSON and the page's trend panel.
    static func trendPoints(_ store: DensityStore, run name: String, _ query: QueryParameters) throws
        -> (run: Run, feature: Int, component: Int, points: [TrendPoint], windows: [Double?]) {
        guard let feature = try query.int("feature", in: 0...Int(Int32.max)) else {
            throw RequestError.bad("feature", "give feature=F, a 0-based feature index")
        }
        let given = try query.int("component", in: 0...Int(Int32.max))
        let every = try query.int("every", in: 1...Int(Int32.max))
        let points = try query.int("points", in: 2...Int.max)
        if every != nil, points != nil { throw RequestError.bad("points", "give every or points, not both") }
        let (run, component, all) = try store.read { snapshot in
            let run = try snapshot.run(named: name)
            let component = try parameter("component") { try ComponentChoice.resolve(given, of: run, why: "a trend follows one (component, feature) pair") }
            guard feature < run.features else {
                throw RequestError.bad("feature", "feature \(feature) is out of range: run '\(name)' has features 0 to \(run.features - 1)")
            }
            let all = try snapshot.trend(run: name, feature: feature, component: component)
            if all.isEmpty { throw try snapshot.noCheckpointYet(run: name) }
            return (run, component, all)
        }
        let kept = TrendThinning.thin(all.count, every: every, points: points).map { all[$0] }
        return (run, feature, component, kept, TrendThinning.windowDensities(kept))
    }

    /// `GET /api/runs/RUN/dead?window=A:B[&threshold=T|&last_vectors=N]` = `density dead --format json`.
    static func dead(_ store: DensityStore, run name: String, _ query: QueryParameters) throws -> JSONValue {
        let (from, to, spelled) = try windowSpelling(query, required: false)
        let lastVectors = try query.int("last_vectors", in: 1...Int.max).map(Int64.init)
        if lastVectors != nil, spelled != nil || query.values["from"] != nil {
            throw RequestError.bad("last_vectors", "give window (or from/to) or last_vectors, not both")
        }
        let threshold = try query.double("threshold")  // its range is the library's (QueryError)
        let given = query.values["window"] != nil || query.values["from"] != nil
        // As `density dead --last-vectors N`: the shortest window ending at the latest checkpoint.
        let window: WindowSelection = lastVectors.map { .lastVectors($0) } ?? .steps(given ? WindowSpec(from: from, to: to) : .wholeRun)
        let (run, report) = try parameter(lastVectors != nil ? "last_vectors" : spelled ?? "window") {
            try store.read { snapshot in
                (try snapshot.run(named: name), try snapshot.deadFeatures(run: name, in: window, threshold: threshold))
            }
        }
        return QueryJSON.dead(run: run, report: report)
    }

    /// `GET /api/runs/RUN/summaries` = `density summaries RUN --format json`: every checkpoint's
    /// stored summary, no counts decoded (the page's overlays of dead and dense fractions).
    static func summaries(_ store: DensityStore, run name: String, _ query: QueryParameters) throws -> JSONValue {
        let (run, summaries) = try store.read { snapshot in
            let summaries = try snapshot.summaries(run: name)
            guard !summaries.isEmpty else { throw try snapshot.noCheckpointYet(run: name) }
            return (try snapshot.run(named: name), summaries)
        }
        return QueryJSON.summaries(run: run, summaries)
    }

    /// `GET /api/runs/RUN/histogram?step=S[&bins=N]` = `density histogram RUN --step S --format json`.
    static func histogram(_ store: DensityStore, run name: String, _ query: QueryParameters) throws -> JSONValue {
        let bins = try query.int("bins", in: 1...200) ?? 20
        let (_, checkpoint, state) = try stateAt(store, run: name, query)
        let summary = DensitySummary(state, bins: bins)
        return QueryJSON.histogram(run: name, scope: [("step", .int(checkpoint.step))], vectors: state.vectors,
                                   histogram: summary.histogram)
    }

    /// `GET /api/runs/RUN/bin?step=S&bin=I[&bins=N][&limit=K]`: the features whose log10 density
    /// falls in one bin of the histogram at S, as the page lists them when a bar is clicked.
    /// `{"run","step","bins","bin","low","high","count","features":[{"component","feature","density"}]}`,
    /// at most `limit` features (default 100, at most 1000), lowest feature first.
    static func bin(_ store: DensityStore, run name: String, _ query: QueryParameters) throws -> JSONValue {
        let bins = try query.int("bins", in: 1...200) ?? 20
        guard let bin = try query.int("bin", in: 0...(bins - 1)) else { throw RequestError.bad("bin", "give bin=I, 0 to \(bins - 1)") }
        let limit = try query.int("limit", in: 1...maxBinFeatures) ?? 100
        let (run, checkpoint, state) = try stateAt(store, run: name, query)
        let densities = state.densities()
        var features: [JSONValue] = []
        var count = 0
        for (index, density) in densities.enumerated() where DensitySummary.bin(ofDensity: density, bins: bins) == bin {
            count += 1
            if features.count < limit {
                features.append(.object((run.components == nil ? [] : [("component", .int(index / run.features))])
                    + [("feature", .int(index % run.features)), ("density", .double(density))]))
            }
        }
        let edges = QueryJSON.histogramEdges(bins)
        return .object([("run", .string(name)), ("step", .int(checkpoint.step)), ("bins", .int(bins)), ("bin", .int(bin)),
                        ("low", .double(edges[bin])), ("high", .double(edges[bin + 1])), ("count", .int(count)),
                        ("features", .array(features))])
    }

    // MARK: - Helpers

    /// The cumulative state at `step` (default latest); refuses one with no vectors, as `histogram --step` does.
    static func stateAt(_ store: DensityStore, run name: String, _ query: QueryParameters) throws
        -> (run: Run, checkpoint: Checkpoint, state: DensityState)
    {
        let step = try query.step("step") ?? .latest
        if step == .start { throw RequestError.bad("step", "step=start names no checkpoint; use first, latest, or a step") }
        let (run, read) = try parameter("step") {
            try store.read { snapshot in (try snapshot.run(named: name), try snapshot.state(run: name, at: step)) }
        }
        let (checkpoint, state) = read
        do { try NoDensities.require(state, run: name, step: checkpoint.step) } catch { throw RequestError.bad("step", error.description) }
        return (run, checkpoint, state)
    }

    /// `window=A:B`, or `from=A[&to=B]`, as the CLI's `--window` / `--from --to`: the two specs and
    /// the parameter that spelled them (`window`, or nil for from/to).
    static func windowSpelling(_ query: QueryParameters, required: Bool) throws -> (from: StepSpec, to: StepSpec, spelled: String?) {
        let window = try query.window("window")
        let from = try query.step("from"), to = try query.step("to")
        let spelled: WindowSpec?
        do {
            spelled = try WindowSpelling.window(window, from: from, to: to)
        } catch .both {
            throw RequestError.bad("window", "give window=A:B or from=A&to=B (the same window (A, B]), not both")
        } catch .endWithoutStart {
            throw RequestError.bad("to", "to needs from: from=A&to=B (or window=A:B) is the window (A, B]")
        } catch .endIsStart {
            throw RequestError.bad("to", "to=start names no checkpoint; use latest or a step")
        }
        guard let spelled else {
            if required { throw RequestError.bad("from", "give the window: from=A[&to=B] or window=A:B, e.g. from=-1 or window=2000:3000") }
            return (.start, .latest, nil)
        }
        return (spelled.from, spelled.to, window != nil ? "window" : nil)
    }

    /// The parameter a setting out of its range is given with, when it is a value of its own
    /// rather than the window: the threshold, or the number of vectors.
    static func parameter(of setting: StoreSetting) -> String? {
        switch setting {
        case .threshold: "threshold"
        case .windowVectors: "last_vectors"
        default: nil
        }
    }

    /// Runs a resolution whose ``SelectionError`` or out-of-range step is the fault of `name`.
    static func parameter<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SelectionError {
            if case .noCheckpointYet = error { throw error }  // 404: nothing to select from yet
            throw RequestError.bad(name, error.description)
        } catch let error as StoreError {
            switch error {
            case .indexOutOfRange: throw RequestError.bad(name, error.description)
            case let .settingOutOfRange(setting, _, _): throw RequestError.bad(parameter(of: setting) ?? name, error.description)
            default: throw error
            }
        } catch let error as QueryError {
            throw RequestError.bad(name, error.description)
        }
    }
}

