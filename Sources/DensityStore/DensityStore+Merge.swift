public import DensityMetric
internal import Foundation
internal import Synchronization

// MARK: - Merging stores written on different machines

extension DensityStore {
    /// Copies every run of another store into this one, so that merging the stores of a job's
    /// machines gives what writing everything into one store would have.
    ///
    /// A run this store lacks is created with the source's settings. A run both have must agree on
    /// width, components, fire threshold and world size. Checkpoints are copied in step order;
    /// one this store already has at the same step must be identical (it is skipped), and none
    /// may fall before this store's latest checkpoint of the run. Partial states of ranks are
    /// copied as if the ranks had written them here, completing the steps they complete. Each
    /// checkpoint is its own transaction, and merging the same source again changes nothing, so
    /// an interrupted merge is finished by running it again.
    /// - Parameter source: The store to copy from (read-only is enough).
    /// - Returns: What was copied.
    /// - Throws: ``StoreError/runSettingsDiffer(run:detail:)``, ``StoreError/conflictingState(run:step:rank:)``,
    ///   ``StoreError/stepNotIncreasing(run:step:latest:)``, or a damaged-chunk error of the source.
    @discardableResult
    public func merge(from source: DensityStore) throws -> MergeReport {
        var report = MergeReport()
        for summary in try source.runs() {
            let run = summary.run
            let here: Run
            if let existing = try withConnection({ db in try Self.findRun(db, run.name) }) {
                var differences: [String] = []
                if existing.features != run.features { differences.append("features \(existing.features) vs \(run.features)") }
                if existing.components != run.components { differences.append("components \(existing.components.map(String.init) ?? "none") vs \(run.components.map(String.init) ?? "none")") }
                if existing.fireThreshold != run.fireThreshold { differences.append("fire threshold \(existing.fireThreshold) vs \(run.fireThreshold)") }
                if existing.worldSize != run.worldSize { differences.append("world size \(existing.worldSize) vs \(run.worldSize)") }
                guard differences.isEmpty else {
                    throw StoreError.runSettingsDiffer(run: run.name, detail: differences.joined(separator: ", "))
                }
                here = existing
            } else {
                here = try createRun(name: run.name, features: run.features, components: run.components,
                                     fireThreshold: run.fireThreshold, chunkFeatures: run.chunkFeatures,
                                     keyframeInterval: run.keyframeInterval, worldSize: run.worldSize, metadata: run.metadata)
                report.runsCreated += 1
            }
            // One writer per run: this handle holds the whole run (its ranks included) while it merges.
            try holdWriterLock(here)
            let copied = Mutex((copied: 0, there: 0))
            try source.forEachState(run: run.name) { [self] checkpoint, state in
                let wasThere = try copyCheckpoint(here, step: checkpoint.step, state: state, approximate: checkpoint.approximate)
                copied.withLock { wasThere ? ($0.there += 1) : ($0.copied += 1) }
                return true
            }
            let counts = copied.withLock { $0 }
            report.checkpointsCopied += counts.copied
            report.checkpointsAlreadyThere += counts.there
            guard run.worldSize > 1 else { continue }
            let (ledger, partial) = try source.rankStates(run)
            try withConnection { db in
                try db.inTransaction(.immediate) {
                    for row in ledger {
                        try db.execute("""
                            INSERT OR IGNORE INTO rank_states (run_id, step, rank, vectors, non_finite, encoding, checksum, data)
                            VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
                            """, [.integer(here.id), .integer(row.step), .integer(Int64(row.rank)), .integer(row.vectors),
                                  .integer(row.nonFinite), .integer(row.encoding), .integer(row.checksum)])
                    }
                }
            }
            for (step, rank, state) in partial {
                let outcome = try record(run: run.name, step: step, state: state, rank: (rank, run.worldSize))
                if !outcome.alreadyStored { report.rankStatesCopied += 1 }
                report.stepsCompleted += outcome.completed.count
            }
        }
        return report
    }

    /// Adds a checkpoint copied from another store: skipped when identical to the one at its step.
    /// - Returns: Whether it was already there.
    private func copyCheckpoint(_ run: Run, step: Int64, state: DensityState, approximate: Bool) throws -> Bool {
        let (wasThere, written) = try withConnection { db in
            try db.inTransaction(.immediate) { () throws -> (Bool, LatestStateCache?) in
                if try Self.isStored(db, run, step: step, state: state, approximate: approximate) { return (true, nil) }
                let (_, cache) = try insertCheckpoint(db, run, step: step, state: state, approximate: approximate)
                // Partial states of a step now complete here are superseded by it.
                try db.execute("UPDATE rank_states SET data = NULL WHERE run_id = ? AND step <= ?",
                               [.integer(run.id), .integer(step)])
                return (false, cache)
            }
        }
        if let written { latestWritten.withLock { $0 = written } }
        return wasThere
    }

    /// A rank row of the ledger (a completed step's rank, without its counts).
    struct RankLedgerRow: Sendable {
        let step: Int64, rank: Int, vectors: Int64, nonFinite: Int64, encoding: Int64, checksum: Int64
    }

    /// A run's rank rows: the ledger of completed steps, and the pending partial states decoded.
    func rankStates(_ run: Run) throws -> (ledger: [RankLedgerRow], partial: [(step: Int64, rank: Int, state: DensityState)]) {
        try withConnection { db in
            try db.inTransaction(.deferred) {
                let here = try Self.requireRun(db, run.name)
                let ledger = try db.query("""
                    SELECT step, rank, vectors, non_finite, encoding, checksum FROM rank_states
                    WHERE run_id = ? AND data IS NULL ORDER BY step, rank
                    """, [.integer(here.id)]) {
                    RankLedgerRow(step: $0.int64(0), rank: $0.int(1), vectors: $0.int64(2), nonFinite: $0.int64(3),
                                  encoding: $0.int64(4), checksum: $0.int64(5))
                }
                let statement = try db.prepare("""
                    SELECT step, rank, vectors, non_finite, encoding, checksum, data FROM rank_states
                    WHERE run_id = ? AND data IS NOT NULL ORDER BY step, rank
                    """)
                try statement.bind([.integer(here.id)])
                var partial: [(step: Int64, rank: Int, state: DensityState)] = []
                let zstd = Zstd()
                while try statement.step() {
                    let step = statement.int64(0), rank = statement.int(1)
                    partial.append((step, rank, try Self.decodeRankState(statement, run: here, step: step, rank: rank, zstd: zstd)))
                }
                return (ledger, partial)
            }
        }
    }
}
