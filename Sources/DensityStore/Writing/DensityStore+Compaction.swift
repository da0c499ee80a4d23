internal import DensityMetric
internal import Foundation
internal import Synchronization

extension DensityStore {
    /// Drops intermediate checkpoints of a run without changing the counts at any kept step, then
    /// reclaims the space.
    ///
    /// Kept: the first checkpoint, every checkpoint whose step is a multiple of `keepEvery`, and the
    /// last `keepLast`. Counts are cumulative, so every window between kept steps stays exact. Kept
    /// checkpoints whose predecessor changed are re-encoded as deltas against the new predecessor
    /// (a keyframe every `keyframe_interval`), all in one transaction: a crash leaves the run as it was.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - keepEvery: Keep steps that are multiples of this (positive).
    ///   - keepLast: Also keep this many of the latest checkpoints (at least 1: the latest is the
    ///     resume point).
    ///   - through: Compact only up to the checkpoint this names (``StepSpec/resolve(in:run:)``,
    ///     resolved in the compaction's transaction); every later checkpoint is kept. The latest by default.
    /// - Returns: What was kept and dropped, and the file size before and after.
    /// - Throws: ``StoreError`` (unknown run, invalid setting, damaged chunk), a ``SelectionError``
    ///   when `through` names no checkpoint, ``SQLiteError``.
    public func compact(run name: String, keepEvery: Int64, keepLast: Int = 1, through: StepSpec = .latest) throws
        -> CompactionReport
    {
        try Self.checkCompaction(keepEvery: keepEvery, keepLast: keepLast)
        let bytesBefore = fileSize()
        let (kept, dropped, reencoded) = try withConnection { db in
            try db.inTransaction(.immediate) { () throws -> ([Int64], Int, Int) in
                let run = try Self.requireRun(db, name)
                try holdWriterLock(run)
                let all = try db.query("SELECT \(Self.checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                                       [.integer(run.id)], row: Self.readCheckpoint)
                guard let last = try through.resolve(in: Self.checkpointSteps(db, run), run: name) else {
                    throw SelectionError.startIsNoCheckpoint(run: name)
                }
                let lastKept = Set(all.suffix(keepLast).map(\.id) + all.filter { $0.step > last }.map(\.id))
                let zstd = Zstd()
                var counts = [Int64](repeating: 0, count: (run.components ?? 1) * run.features)
                var previousKept: (state: DensityState, depth: Int)?
                var droppedSinceKept = false
                var kept: [Int64] = [], dropped = 0, reencoded = 0
                        var cursor = DeltaChain.Cursor(run, all)
                var index = -1
                while let checkpoint = try cursor.next() {
                    index += 1
                    try Self.apply(db, run, checkpoint, to: &counts, zstd: zstd, checkedBy: cursor)  // never bake in a broken history
                    let keep = index == 0 || checkpoint.step % keepEvery == 0 || lastKept.contains(checkpoint.id)
                    guard keep else {
                        try db.execute("DELETE FROM checkpoints WHERE id = ?", [.integer(checkpoint.id)])
                        dropped += 1
                        droppedSinceKept = true
                        continue
                    }
                    let state = try DensityState(features: run.features, components: run.components, counts: counts,
                                                 vectors: checkpoint.vectors, nonFinite: checkpoint.nonFinite)
                    let depth = previousKept.map { $0.depth + 1 < run.keyframeInterval ? $0.depth + 1 : 0 } ?? 0
                    if droppedSinceKept || depth != checkpoint.deltaDepth {
                        try db.execute("DELETE FROM chunks WHERE checkpoint_id = ?", [.integer(checkpoint.id)])
                        _ = try Self.writeChunks(db, run, checkpointID: checkpoint.id, state: state,
                                                 previous: depth == 0 ? nil : previousKept?.state, zstd: zstd)
                        try db.execute("UPDATE checkpoints SET delta_depth = ? WHERE id = ?",
                                       [.integer(Int64(depth)), .integer(checkpoint.id)])
                        reencoded += 1
                    }
                    previousKept = (state, depth)
                    droppedSinceKept = false
                    kept.append(checkpoint.step)
                }
                return (kept, dropped, reencoded)
            }
        }
        latestWritten.withLock { $0 = nil }
        if dropped > 0 { try reclaimSpace() }
        return CompactionReport(run: name, keptSteps: kept, dropped: dropped, reencoded: reencoded,
                                bytesBefore: bytesBefore, bytesAfter: fileSize())
    }

    /// Checks compaction's settings, the one check ``compact(run:keepEvery:keepLast:through:)`` makes.
    /// - Parameters:
    ///   - keepEvery: Keep steps that are multiples of this; positive.
    ///   - keepLast: Keep this many of the latest checkpoints; at least 1.
    /// - Throws: ``StoreError/settingOutOfRange(_:value:expected:)``.
    public static func checkCompaction(keepEvery: Int64, keepLast: Int) throws {
        guard keepEvery > 0 else {
            throw StoreError.settingOutOfRange(.keepEvery, value: String(keepEvery), expected: "a positive number of steps")
        }
        guard keepLast >= 1 else {
            throw StoreError.settingOutOfRange(.keepLast, value: String(keepLast),
                                               expected: "at least 1 (the latest checkpoint is the resume point)")
        }
    }

    /// Folds the WAL into the database and rewrites the file without its free pages.
    func reclaimSpace() throws {
        try withConnection { db in
            try db.execute(script: "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
        }
    }

    /// The size of the store's file and its WAL, in bytes.
    func fileSize() -> Int64 {
        [path, path + "-wal"].reduce(0) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value
            return total + (size ?? 0)
        }
    }
}
