package import DensityMetric
package import DensityStore

/// The JSON answers of the queries, one function per answer: what `density runs|show|diff|trend|
/// dead|histogram --format json` print and what `density-serve`'s `/api/runs…` endpoints return,
/// from the same code. Each takes what the query read and returns the document; the callers
/// write `.text`.
package enum QueryJSON {
    // MARK: - runs

    /// `density runs`: `[{"name","features","components","checkpoints","latest_step","vectors","world_size","pending_steps",
    /// "fire_threshold"}]`.
    /// - Parameter summaries: The store's runs.
    package static func runs(_ summaries: [RunSummary]) -> JSONValue {
        .array(summaries.map { summary in
            .object([
                ("name", .string(summary.run.name)),
                ("features", .int(summary.run.features)),
                ("components", .int(summary.run.components)),
                ("checkpoints", .int(summary.checkpointCount)),
                ("latest_step", summary.latest.map { .int($0.step) } ?? .null),
                ("vectors", .int(summary.latest?.vectors ?? 0)),
                ("world_size", .int(summary.run.worldSize)),
                ("pending_steps", .int(summary.pendingSteps)),
                ("fire_threshold", .double(summary.run.fireThreshold)),
            ])
        })
    }

    // MARK: - show

    /// `density show`: `{"run","step","vectors","features","components","mean_density","dead","dense",
    /// "non_finite","approximate","world_size","pending_steps":[{"step","ranks"}]}`.
    /// - Parameters:
    ///   - run: The run.
    ///   - checkpoint: The checkpoint shown.
    ///   - summary: Its stored summary.
    ///   - pending: The run's pending steps (empty for a run of one rank).
    package static func show(run: Run, checkpoint: Checkpoint, summary: DensitySummary, pending: [PendingStep]) -> JSONValue {
        .object([
            ("run", .string(run.name)), ("step", .int(checkpoint.step)), ("vectors", .int(summary.vectors)),
            ("features", .int(run.features)), ("components", .int(run.components)),
            ("mean_density", .double(summary.meanDensity)), ("dead", .int(summary.dead)),
            ("dense", .int(summary.dense)), ("non_finite", .int(summary.nonFinite)),
            ("approximate", .bool(checkpoint.approximate)), ("world_size", .int(run.worldSize)),
            ("pending_steps", .array(pending.map { .object([
                ("step", .int($0.step)), ("ranks", .array($0.ranks.map { .int($0) })),
            ]) })),
        ])
    }

    // MARK: - diff

    /// `density diff`: `{"run","from","to","vectors","density","previous"}`; density is
    /// `[features]`, or `[components][features]`.
    /// - Parameters:
    ///   - run: The run.
    ///   - window: The window (from, to].
    ///   - densities: Its densities, component-major.
    ///   - previous: The window of the same length before, or nil at the start of the run.
    package static func diff(run: Run, window: WindowBounds, densities: [Double], previous: WindowBounds?) -> JSONValue {
        let features = run.features
        let density: JSONValue = run.components.map { components in
            .array((0..<components).map { c in .doubles(densities[(c * features)..<((c + 1) * features)]) })
        } ?? .doubles(densities[...])
        return .object([
            ("run", .string(run.name)), ("from", window.from.map { .int($0) } ?? .null), ("to", .int(window.to)),
            ("vectors", .int(window.vectors)), ("density", density),
            ("previous", previous.map { previous in
                .object([("from", previous.from.map { .int($0) } ?? .null), ("to", .int(previous.to)),
                         ("vectors", .int(previous.vectors))])
            } ?? .null),
        ])
    }

    // MARK: - trend

    /// `density trend`: `{"run","feature","component","points":[{"step","vectors","count","density","window_density"}]}`.
    /// - Parameters:
    ///   - run: The run.
    ///   - feature: The feature.
    ///   - component: Its component (written null for a run without components).
    ///   - points: The points kept.
    ///   - windows: The window density before each point (nil for the first).
    package static func trend(run: Run, feature: Int, component: Int, points: [TrendPoint], windows: [Double?]) -> JSONValue {
        .object([
            ("run", .string(run.name)), ("feature", .int(feature)),
            ("component", run.components == nil ? .null : .int(component)),
            ("points", .array(zip(points, windows).map { p, window in
                .object([("step", .int(p.step)), ("vectors", .int(p.vectors)), ("count", .int(p.count)),
                         ("density", .double(p.density)), ("window_density", window.map { .double($0) } ?? .null)])
            })),
        ])
    }

    // MARK: - dead

    /// `density dead`: `{"run","from","to","vectors","threshold","dead":[{"component","feature",
    /// "last_fired_step"}],"revived":[...]}`; "component" only for runs with components.
    /// - Parameters:
    ///   - run: The run.
    ///   - report: What the store found.
    package static func dead(run: Run, report: DeadFeatureReport) -> JSONValue {
        let hasComponents = run.components != nil
        let list = { (features: [DeadFeature]) -> JSONValue in
            .array(features.map { f in
                .object((hasComponents ? [("component", .int(f.component))] : [])
                    + [("feature", .int(f.feature)), ("last_fired_step", f.lastFiredStep.map { .int($0) } ?? .null)])
            })
        }
        return .object([
            ("run", .string(run.name)), ("from", report.window.from.map { .int($0) } ?? .null),
            ("to", .int(report.window.to)), ("vectors", .int(report.window.vectors)),
            ("threshold", report.threshold.map { .double($0) } ?? .null),
            ("dead", list(report.dead)), ("revived", report.revived.map(list) ?? .null),
        ])
    }

    /// `density dense`: `{"run","from","to","vectors","threshold","dense":[{"component","feature",
    /// "count","density"}]}`; "component" only for runs with components.
    /// - Parameters:
    ///   - run: The run.
    ///   - report: What the store found.
    package static func dense(run: Run, report: DenseFeatureReport) -> JSONValue {
        let hasComponents = run.components != nil
        return .object([
            ("run", .string(run.name)), ("from", report.window.from.map { .int($0) } ?? .null),
            ("to", .int(report.window.to)), ("vectors", .int(report.window.vectors)),
            ("threshold", .double(report.threshold)),
            ("dense", .array(report.dense.map { f in
                .object((hasComponents ? [("component", .int(f.component))] : [])
                    + [("feature", .int(f.feature)), ("count", .int(f.count)), ("density", .double(f.density))])
            })),
        ])
    }

    // MARK: - compare

    /// `density compare`: `{"step","runs":[{"run","step","vectors","features","components",
    /// "mean_density","dead","dense","non_finite","median_log10_density":[low, high]}]}`.
    /// - Parameters:
    ///   - comparison: What the store found.
    ///   - names: How each run is named (`name@store` across stores); the runs' own names by default.
    package static func compare(_ comparison: RunComparison, names: [String]? = nil) -> JSONValue {
        .object([
            ("step", .int(comparison.step)),
            ("runs", .array(zip(names ?? comparison.runs.map(\.run.name), comparison.runs).map { name, snapshot in
                let s = snapshot.summary
                return .object([
                    ("run", .string(name)), ("step", .int(snapshot.checkpoint.step)),
                    ("vectors", .int(s.vectors)), ("features", .int(snapshot.run.features)),
                    ("components", .int(snapshot.run.components)), ("mean_density", .double(s.meanDensity)),
                    ("dead", .int(s.dead)), ("dense", .int(s.dense)), ("non_finite", .int(s.nonFinite)),
                    ("median_log10_density", snapshot.medianLog10Density.map {
                        .array([.double($0.lowerBound), .double($0.upperBound)])
                    } ?? .null),
                ])
            })),
        ])
    }

    // MARK: - histogram

    /// `density histogram`: `{"run","step","vectors","bins":[{"low","high","count"}]}`, with
    /// "from","to" instead of "step" for a window.
    /// - Parameters:
    ///   - run: The run's name.
    ///   - scope: `[("step", S)]` or `[("from", A), ("to", B)]`.
    ///   - vectors: The state's vectors.
    ///   - histogram: Features per bin, over [-10, 0].
    package static func histogram(run: String, scope: [(String, JSONValue)], vectors: Int64, histogram: [Int]) -> JSONValue {
        let edges = histogramEdges(histogram.count)
        return .object([("run", .string(run))] + scope + [
            ("vectors", .int(vectors)),
            ("bins", .array(histogram.enumerated().map { index, count in
                .object([("low", .double(edges[index])), ("high", .double(edges[index + 1])), ("count", .int(count))])
            })),
        ])
    }

    /// `density summaries --format json`: one array per column, `{"run","features","components",
    /// "edges":[51],"step","vectors","non_finite","dead","dense","mean_density","mean_log10_density",
    /// "histogram":[[50],...]}`, from the summaries stored with each checkpoint.
    package static func summaries(run: Run, _ summaries: [(checkpoint: Checkpoint, summary: DensitySummary)]) -> JSONValue {
        func column(_ value: (Checkpoint, DensitySummary) -> Int64) -> JSONValue {
            .array(summaries.map { .int(value($0.checkpoint, $0.summary)) })
        }
        func numbers(_ values: [Double?]) -> JSONValue { .array(values.map { $0.map(JSONValue.double) ?? .null }) }
        let edges = histogramEdges(DensitySummary.storedBins)
        return .object([
            ("run", .string(run.name)), ("features", .int(Int64(run.features))),
            ("components", run.components.map { .int(Int64($0)) } ?? .null),
            ("edges", .array(edges.map { .double($0) })),
            ("step", column { c, _ in c.step }), ("vectors", column { _, s in s.vectors }),
            ("non_finite", column { _, s in s.nonFinite }),
            ("dead", column { _, s in Int64(s.dead) }), ("dense", column { _, s in Int64(s.dense) }),
            ("mean_density", numbers(summaries.map { $0.summary.vectors > 0 ? $0.summary.meanDensity : nil })),
            ("mean_log10_density", numbers(summaries.map(\.summary.binnedMeanLog10Density))),
            ("histogram", .array(summaries.map { .array($0.summary.histogram.map { .int(Int64($0)) }) })),
        ])
    }

    /// `density histogram --over-training`: `{"run","edges":[...],"steps":[{"step","vectors","counts":[...]}]}`.
    /// - Parameters:
    ///   - run: The run's name.
    ///   - bins: Bins per histogram.
    ///   - rows: Each checkpoint's step, vectors and counts (nil without vectors).
    package static func histogramOverTraining(run: String, bins: Int, rows: [(step: Int64, vectors: Int64, counts: [Int]?)]) -> JSONValue {
        .object([
            ("run", .string(run)),
            ("edges", .doubles(histogramEdges(bins)[...])),
            ("steps", .array(rows.map { row in
                .object([("step", .int(row.step)), ("vectors", .int(row.vectors)),
                         ("counts", row.counts.map { counts in .array(counts.map { .int($0) }) } ?? .null)])
            })),
        ])
    }

    /// The bins' edges in log10 density, from -10 to 0: each one division of integers, so that the
    /// edges print as the decimals they are (-3.6, not -3.5999999999999996). They are labels only:
    /// the counts come from ``DensitySummary``, whose bins these are.
    /// - Parameter bins: The number of bins.
    /// - Returns: `bins + 1` edges.
    package static func histogramEdges(_ bins: Int) -> [Double] {
        (0...bins).map { DensitySummary.binLowerEdge($0, bins: bins) }
    }

    // MARK: - Errors

    /// An error answer: `{"error": message}`, with `"parameter"` naming the parameter at fault.
    /// - Parameters:
    ///   - message: What was wrong and how to fix it.
    ///   - parameter: The query parameter at fault, if one is.
    package static func error(_ message: String, parameter: String? = nil) -> JSONValue {
        .object([("error", .string(message))] + (parameter.map { [("parameter", .string($0))] } ?? []))
    }
}
