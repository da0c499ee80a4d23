internal import DensityMetric
internal import Foundation
internal import Synchronization

// MARK: - Merging stores written on different machines

extension DensityStore {
    /// Copies every run of other stores into this one, so that merging the stores of a job's
    /// machines gives what writing everything into one store would have.
    ///
    /// The result does not depend on the order of the sources: runs are merged by name, and each
    /// run's checkpoints, from every source and this store, in step order. A run this store lacks
    /// is created with the sources' settings. A run in several stores must agree on width,
    /// components, fire threshold and world size; a step several stores hold must hold the same
    /// state (it is kept once). A step that falls before this store's latest checkpoint of the run
    /// is put in its place, and the later checkpoints are re-encoded after it. Partial states of
    /// ranks are copied as if the ranks had written them here, completing the steps they complete.
    ///
    /// All or nothing: the whole merge is one transaction, so a refused or interrupted merge leaves
    /// this store as it was, and merging the same sources again changes nothing.
    /// - Parameter sources: The stores to copy from (read-only is enough).
    /// - Returns: What was copied.
    /// - Throws: ``StoreError/mergeIntoItself(path:)`` when a source is this store's own file,
    ///   ``StoreError/runSettingsDiffer(run:detail:)``, ``StoreError/mergeConflict(run:step:rank:)``,
    ///   every refusal a checkpoint write gives (such as ``StoreError/countsOutgrewVectors(run:step:previousStep:detail:)``
    ///   when the merged history breaks the invariant, or ``StoreError/beyondSupportedRange(run:step:detail:)``),
    ///   or a damaged-chunk error of a source.
    @discardableResult
    public func merge(from sources: [DensityStore]) throws -> MergeReport {
        // The same file through another handle too: its read would wait on this merge's own write.
        let identity = Self.fileIdentity(path)
        guard !sources.contains(where: { $0 === self || (identity != nil && Self.fileIdentity($0.path) == identity) }) else {
            throw StoreError.mergeIntoItself(path: path)
        }
        // Nothing of this merge is cached: it may rewrite a run's later checkpoints.
        latestWritten.withLock { $0 = nil }
        defer { latestWritten.withLock { $0 = nil } }
        // Each source is read in one snapshot, held for the whole merge; the states are read at insertion.
        return try Self.reading(sources[...]) { snapshots in
            var copies: [String: [SourceRun]] = [:]
            for source in snapshots {
                for summary in try source.runs() {
                    let run = try source.run(named: summary.run.name)  // checked against this build's limits
                    let (ledger, partial) = run.worldSize > 1 ? try Self.rankStates(source.db, run) : ([], [])
                    copies[run.name, default: []].append(
                        SourceRun(source: source, run: run, checkpoints: try source.checkpoints(run: run.name),
                                  ledger: ledger, partial: partial))
                }
            }
            return try withConnection { db in
                try db.inTransaction(.immediate) {
                    var report = MergeReport()
                    for name in copies.keys.sorted() {
                        try mergeRun(db, copies[name]!, into: &report)
                    }
                    return report
                }
            }
        }
    }

    /// Runs `body` with a snapshot of each store, all held open until it returns.
    private static func reading<T>(_ stores: ArraySlice<DensityStore>, _ snapshots: [StoreSnapshot] = [],
                                   _ body: ([StoreSnapshot]) throws -> T) throws -> T {
        guard let first = stores.first else { return try body(snapshots) }
        return try first.read { snapshot in try reading(stores.dropFirst(), snapshots + [snapshot], body) }
    }

    /// The device and inode of a store's file (the same through links and other spellings of its
    /// path), or `nil` for an in-memory store or a file that cannot be read.
    static func fileIdentity(_ path: String) -> [Int]? {
        guard path != ":memory:", !path.isEmpty,
              let attributes = try? FileManager.default.attributesOfItem(
                  atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path),
              let device = (attributes[.systemNumber] as? NSNumber)?.intValue,
              let inode = (attributes[.systemFileNumber] as? NSNumber)?.intValue else { return nil }
        return [device, inode]
    }

    /// One run as a source holds it.
    private struct SourceRun {
        let source: StoreSnapshot
        let run: Run
        let checkpoints: [Checkpoint]
        let ledger: [RankLedgerRow]
        let partial: [(step: Int64, rank: Int, state: DensityState)]
    }

    /// The settings in which two runs of one name differ, in words; empty when they measure the same thing.
    private static func differences(_ one: Run, _ other: Run) -> [String] {
        var differences: [String] = []
        if one.features != other.features { differences.append("features \(one.features) vs \(other.features)") }
        if one.components != other.components {
            differences.append("components \(one.components.map(String.init) ?? "none") vs \(other.components.map(String.init) ?? "none")")
        }
        if one.fireThreshold != other.fireThreshold { differences.append("fire threshold \(one.fireThreshold) vs \(other.fireThreshold)") }
        if one.worldSize != other.worldSize { differences.append("world size \(one.worldSize) vs \(other.worldSize)") }
        return differences
    }

    /// Merges one run's copies into this store, inside the caller's transaction.
    private func mergeRun(_ db: Connection, _ copies: [SourceRun], into report: inout MergeReport) throws {
        // The settings that do not change what is measured (chunking, metadata) come from one
        // copy chosen by its settings alone, so the order of the sources does not matter.
        let reference = copies.map(\.run).min {
            ($0.metadata ?? "", $0.chunkFeatures, $0.keyframeInterval) < ($1.metadata ?? "", $1.chunkFeatures, $1.keyframeInterval)
        }!
        let here: Run
        if let existing = try Self.findRun(db, reference.name) {
            here = existing
        } else {
            here = try Self.insertRun(db, name: reference.name, features: reference.features, components: reference.components,
                                      fireThreshold: reference.fireThreshold, chunkFeatures: reference.chunkFeatures,
                                      keyframeInterval: reference.keyframeInterval, worldSize: reference.worldSize,
                                      metadata: reference.metadata)
            report.runsCreated += 1
        }
        for copy in copies {
            let differences = Self.differences(here, copy.run)
            guard differences.isEmpty else {
                throw StoreError.runSettingsDiffer(run: here.name, detail: differences.joined(separator: ", "))
            }
        }
        // One writer per run: this handle holds the whole run (its ranks included) while it merges.
        try holdWriterLock(here)

        // Every step of every source, with the copies that hold it.
        var holders: [Int64: [(SourceRun, Checkpoint)]] = [:]
        for copy in copies {
            for checkpoint in copy.checkpoints { holders[checkpoint.step, default: []].append((copy, checkpoint)) }
        }
        let stored = try db.query("SELECT \(Self.checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                                  [.integer(here.id)], row: Self.readCheckpoint)
        let storedSteps = Set(stored.map(\.step))
        // A new step before this store's latest one: the checkpoints after it are read, removed,
        // and written again in step order with the new ones.
        var rewritten: [Int64: (state: DensityState, approximate: Bool)] = [:]
        if let firstNew = holders.keys.filter({ !storedSteps.contains($0) }).min(), let latest = stored.last, firstNew < latest.step {
            for checkpoint in stored where checkpoint.step > firstNew {
                rewritten[checkpoint.step] = (try Self.readState(db, here, checkpoint), checkpoint.approximate)
            }
            try db.execute("DELETE FROM checkpoints WHERE run_id = ? AND step > ?", [.integer(here.id), .integer(firstNew)])
        }
        for step in Set(holders.keys).union(rewritten.keys).sorted() {
            // The state at this step: every copy that holds it must agree, and with this store.
            var state: (state: DensityState, approximate: Bool)? = rewritten[step]
            for (copy, checkpoint) in holders[step] ?? [] {
                let read = try copy.source.state(run: copy.run.name, at: .exact(step))
                if let state, state.state != read.state || state.approximate != checkpoint.approximate {
                    throw StoreError.mergeConflict(run: here.name, step: step, rank: nil)
                }
                state = (read.state, checkpoint.approximate)
            }
            guard let state else { continue }
            if storedSteps.contains(step), rewritten[step] == nil {
                do {
                    _ = try Self.isStored(db, here, step: step, state: state.state, approximate: state.approximate)
                } catch StoreError.conflictingState {
                    throw StoreError.mergeConflict(run: here.name, step: step, rank: nil)
                }
                report.checkpointsAlreadyThere += 1
                continue
            }
            _ = try insertCheckpoint(db, here, step: step, state: state.state, approximate: state.approximate)
            // Partial states of a step now complete here are superseded by it.
            try db.execute("UPDATE rank_states SET data = NULL WHERE run_id = ? AND step <= ?", [.integer(here.id), .integer(step)])
            if rewritten[step] == nil { report.checkpointsCopied += 1 }
        }

        guard here.worldSize > 1 else { return }
        for row in copies.flatMap(\.ledger) {
            try db.execute("""
                INSERT OR IGNORE INTO rank_states (run_id, step, rank, vectors, non_finite, encoding, checksum, data)
                VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
                """, [.integer(here.id), .integer(row.step), .integer(Int64(row.rank)), .integer(row.vectors),
                      .integer(row.nonFinite), .integer(row.encoding), .integer(row.checksum)])
        }
        let partial = copies.flatMap(\.partial).sorted { ($0.step, $0.rank) < ($1.step, $1.rank) }
        for (step, rank, state) in partial {
            let outcome: RecordOutcome
            do {
                outcome = try recordRank(db, here, step: step, rank: rank, state: state).0
            } catch StoreError.conflictingState(_, _, let rank) {
                throw StoreError.mergeConflict(run: here.name, step: step, rank: rank)
            }
            if !outcome.alreadyStored { report.rankStatesCopied += 1 }
            report.stepsCompleted += outcome.completed.count
        }
    }

    /// A rank row of the ledger (a completed step's rank, without its counts).
    struct RankLedgerRow: Sendable {
        let step: Int64, rank: Int, vectors: Int64, nonFinite: Int64, encoding: Int64, checksum: Int64
    }

    /// A run's rank rows: the ledger of completed steps, and the pending partial states decoded.
    static func rankStates(_ db: Connection, _ here: Run) throws
        -> (ledger: [RankLedgerRow], partial: [(step: Int64, rank: Int, state: DensityState)])
    {
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
