internal import DensityMetric

// MARK: - Verifying a whole store

extension DensityStore {
    /// Checks the whole store, or one run: SQLite's own check of the file, then every chunk of every
    /// checkpoint decoded along its delta chain, with its checksum, its encoding against the
    /// checkpoint's delta depth, counts that never decrease from one checkpoint to the next, never
    /// grow by more than the vectors do and never exceed the vectors seen, and the stored summary
    /// against the decoded counts.
    ///
    /// It reads one consistent snapshot and never writes. A problem does not stop the check: each
    /// is reported with its run, step, component and chunk; a chunk's problem carries the same text
    /// a query reading that chunk fails with. Deltas that build on a damaged chunk are still
    /// checked on their own (checksum, encoding), but their counts cannot be, until the next keyframe.
    /// - Parameters:
    ///   - name: Check only this run; `nil` for every run.
    ///   - quick: Run SQLite's faster `quick_check` instead of `integrity_check` (it skips the
    ///     check that indexes match their tables).
    ///   - progress: Called after each checkpoint with (checked, total).
    /// - Returns: What was checked and the problems found.
    /// - Throws: ``StoreError/unknownRun(name:known:)`` for an unknown `name`; damage is reported,
    ///   not thrown.
    ///
    /// Related SQLite documentation: <https://www.sqlite.org/pragma.html#pragma_integrity_check>
    public func verify(run name: String? = nil, quick: Bool = false,
                       progress: @Sendable (_ checked: Int, _ total: Int) -> Void = { _, _ in }) throws -> VerificationReport {
        let check = quick ? "quick_check" : "integrity_check"
        return try withConnection { db in
            try db.inTransaction(.deferred) {
                var problems: [VerificationReport.Problem] = []
                do {
                    let rows = try db.query("PRAGMA \(check)(100)") { $0.string(0) }
                    if rows != ["ok"] {
                        problems += rows.map { .init(message: "SQLite \(check): \($0)") }
                    }
                    let orphans = try db.query("PRAGMA foreign_key_check") { "\($0.string(0)) row \($0.int64(1)) refers to a missing \($0.string(2)) row" }
                    problems += orphans.map { .init(message: "SQLite foreign_key_check: \($0)") }
                } catch let error as SQLiteError {
                    problems.append(.init(message: "SQLite \(check) failed: \(error)"))
                }
                let runs: [Run]
                do {
                    runs = try name.map { [try Self.requireRun(db, $0)] }
                        ?? db.query("SELECT \(Self.runColumns) FROM runs ORDER BY name", row: Self.readRun)
                } catch let error as SQLiteError {
                    problems.append(.init(message: "cannot read the runs: \(error)"))
                    return VerificationReport(sqliteCheck: check, runs: 0, checkpoints: 0, chunks: 0, problems: problems)
                }
                var total = 0
                for run in runs {
                    total += (try? db.queryFirst("SELECT count(*) FROM checkpoints WHERE run_id = ?",
                                                  [.integer(run.id)]) { $0.int(0) } ?? 0) ?? 0
                }
                var verifier = RunVerifier()
                for run in runs {
                    do {
                        try Self.checkLimits(run)
                    } catch {
                        problems.append(.init(run: run.name, message: "\(error)"))
                        continue
                    }
                    verifier.verify(db, run) { progress($0, total) }
                }
                return VerificationReport(sqliteCheck: check, runs: runs.count, checkpoints: verifier.checkpoints,
                                          chunks: verifier.chunks, problems: problems + verifier.problems)
            }
        }
    }
}

/// Walks runs checkpoint by checkpoint, keeping each chunk position's decoded counts while they
/// are known, and collects problems.
private struct RunVerifier {
    var checkpoints = 0
    var chunks = 0
    var problems: [VerificationReport.Problem] = []
    let zstd = Zstd()

    /// Checks one run; `progress` gets the number of checkpoints checked so far.
    mutating func verify(_ db: Connection, _ run: Run, progress: (Int) -> Void) {
        let list: [Checkpoint]
        do {
            list = try db.query("SELECT \(DensityStore.checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                                [.integer(run.id)], row: DensityStore.readCheckpoint)
        } catch {
            problems.append(.init(run: run.name, message: "run '\(run.name)': cannot read its checkpoints: \(error)"))
            return
        }
        let layout = DensityStore.chunkLayout(run)
        let positions = Dictionary(uniqueKeysWithValues: layout.enumerated().map { (Pair($1.component, $1.chunk), $0) })
        var counts = [Int64](repeating: 0, count: (run.components ?? 1) * run.features)
        var known = [Bool](repeating: true, count: layout.count)  // the empty state before the first checkpoint
        var previous: Checkpoint?
        var cursor = DeltaChain.Cursor(run, zstd: zstd)
        for checkpoint in list {
            defer {
                checkpoints += 1
                progress(checkpoints)
                previous = checkpoint
            }
            func problem(_ component: Int, _ chunk: Int, _ reason: String) {
                problem(component, chunk, DeltaChain.damaged(run, step: checkpoint.step, component: component, chunk: chunk, reason))
            }
            func problem(_ component: Int, _ chunk: Int, _ error: StoreError) {
                problems.append(.init(run: run.name, step: checkpoint.step, component: component, chunk: chunk,
                                      message: error.description))
            }
            func checkpointProblem(_ text: String) {
                problems.append(.init(run: run.name, step: checkpoint.step,
                                      message: "run '\(run.name)', step \(checkpoint.step): \(text)"))
            }
            let link = cursor.report(step: checkpoint.step, depth: checkpoint.deltaDepth, vectors: checkpoint.vectors,
                                     nonFinite: checkpoint.nonFinite)
            if let broken = link.link {
                checkpointProblem(broken)
                known = known.map { _ in false }
            }
            if let violation = StoreLimits.rangeViolation(vectors: checkpoint.vectors, nonFinite: checkpoint.nonFinite) {
                checkpointProblem(violation)
            }
            if let fall = link.totals {
                problems.append(.init(run: run.name, step: checkpoint.step, message: fall.description))
            }
            var seen = [Bool](repeating: false, count: layout.count)
            do {
                let statement = try db.prepare(
                    "SELECT component, chunk, encoding, checksum, data FROM chunks WHERE checkpoint_id = ? ORDER BY component, chunk")
                try statement.bind([.integer(checkpoint.id)])
                while try statement.step() {
                    chunks += 1
                    let component = statement.int(0), chunk = statement.int(1)
                    guard let index = positions[Pair(component, chunk)], !seen[index] else {
                        problem(component, chunk, "unexpected chunk (the run has no such chunk position)")
                        continue
                    }
                    seen[index] = true
                    let position = layout[index]
                    let kind = ChunkEncoding(rawValue: statement.int64(2))
                    if kind == .rateDeltaVarintZstd, !known[index] {
                        // Without the previous counts, a rate-predicted delta has no values of its
                        // own (its prediction needs them): check its bytes only.
                        do {
                            try cursor.check(statement, column: 2, component: component, chunk: chunk, width: position.width)
                        } catch let error as StoreError {
                            problem(component, chunk, error)
                        }
                        continue
                    }
                    let range = position.start..<(position.start + position.width)
                    // A delta is applied to the known counts (so a query's error text is repeated
                    // exactly), or to zeros when they are not known, to check the blob on its own.
                    var values = known[index] ? Array(counts[range]) : [Int64](repeating: 0, count: position.width)
                    do {
                        try values.withUnsafeMutableBufferPointer { output in
                            try cursor.decode(statement, column: 2, component: component, chunk: chunk, onto: output)
                        }
                    } catch let error as StoreError {
                        problem(component, chunk, error)
                        known[index] = false
                        continue
                    }
                    let absolute = kind?.isAbsolute ?? true
                    if absolute, known[index], let feature = values.indices.first(where: { values[$0] < counts[position.start + $0] }) {
                        problem(component, chunk, "count of feature \(position.chunk * run.chunkFeatures + feature) decreased from \(counts[position.start + feature]) to \(values[feature])")
                    }
                    let previousVectors = previous?.vectors ?? 0, added = checkpoint.vectors - previousVectors
                    if known[index], added >= 0, let feature = values.indices.first(where: {
                        let before = counts[position.start + $0]
                        return values[$0] >= before && values[$0] - before > added
                    }) {
                        let at = "feature \(position.chunk * run.chunkFeatures + feature)"
                        problem(component, chunk, DensityState.describeGrowth(
                            at: at, from: counts[position.start + feature], to: values[feature],
                            vectorsFrom: previousVectors, vectorsTo: checkpoint.vectors))
                    }
                    if let feature = values.firstIndex(where: { $0 > checkpoint.vectors }) {
                        problem(component, chunk, "count \(values[feature]) of feature \(position.chunk * run.chunkFeatures + feature) is above the vectors seen (\(checkpoint.vectors))")
                    }
                    if absolute || known[index] {
                        counts.replaceSubrange(range, with: values)
                        known[index] = true
                    }
                }
            } catch {
                checkpointProblem("cannot read its chunks: \(error)")
                known = known.map { _ in false }
                continue
            }
            for index in layout.indices where !seen[index] {
                problem(layout[index].component, layout[index].chunk, "chunk missing")
                known[index] = false
            }
            guard known.allSatisfy({ $0 }) else { continue }
            do {
                let state = try DensityState(features: run.features, components: run.components, counts: counts,
                                             vectors: checkpoint.vectors, nonFinite: checkpoint.nonFinite)
                if let stored = try DensityStore.storedSummary(db, run, checkpoint) {
                    if stored != DensitySummary(state) {
                        checkpointProblem("its stored summary (dead, dense, histogram) does not match its decoded counts")
                    }
                } else if try db.queryFirst("SELECT count(*) FROM checkpoint_summaries WHERE checkpoint_id = ?",
                                            [.integer(checkpoint.id)], row: { $0.int(0) }) != 0 {
                    checkpointProblem("its stored summary cannot be read (its histogram is not a list of \(DensitySummary.storedBins) counts of every feature, or its sum, dead or dense count is impossible)")
                }
            } catch {
                checkpointProblem("cannot check its summary: \(error)")
            }
        }
    }
}

/// A (component, chunk) position, as a dictionary key.
private struct Pair: Hashable {
    let component: Int
    let chunk: Int
    init(_ component: Int, _ chunk: Int) {
        self.component = component
        self.chunk = chunk
    }
}
