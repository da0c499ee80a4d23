internal import DensityMetric
internal import Dispatch
internal import Foundation
internal import Synchronization

// MARK: - Reading and writing rows (always inside the caller's transaction)

extension DensityStore {
    static let runColumns =
        "id, name, features, components, fire_threshold, chunk_features, created_at, metadata, keyframe_interval, world_size"
    static let checkpointColumns = "id, step, vectors, non_finite, wall_time, delta_depth, approximate"

    static func readRun(_ row: Statement) -> Run {
        Run(id: row.int64(0), name: row.string(1), features: row.int(2),
            components: row.isNull(3) ? nil : row.int(3), fireThreshold: row.double(4),
            chunkFeatures: row.int(5), keyframeInterval: row.int(8), worldSize: row.int(9),
            createdAt: row.string(6), metadata: row.optionalString(7))
    }

    static func readCheckpoint(_ row: Statement) -> Checkpoint {
        Checkpoint(id: row.int64(0), step: row.int64(1), vectors: row.int64(2), nonFinite: row.int64(3),
                   wallTime: row.string(4), deltaDepth: row.int(5), approximate: row.int(6) != 0)
    }

    static func findRun(_ db: Connection, _ name: String) throws -> Run? {
        try db.queryFirst("SELECT \(runColumns) FROM runs WHERE name = ?", [.text(name)], row: readRun)
    }

    static func requireRun(_ db: Connection, _ name: String) throws -> Run {
        if let run = try findRun(db, name) {
            try checkLimits(run)
            return run
        }
        let known = try db.query("SELECT name FROM runs ORDER BY name") { $0.string(0) }
        throw StoreError.unknownRun(name: name, known: known)
    }

    /// Refuses a run row whose settings no valid store holds, before anything is sized from them.
    static func checkLimits(_ run: Run) throws {
        let problem = run.features <= 0 || (run.components ?? 1) <= 0 || run.chunkFeatures <= 0 || run.keyframeInterval <= 0
            ? "a width or setting is not positive"
            : StoreLimits.violation(features: run.features, components: run.components,
                                    chunkFeatures: run.chunkFeatures, keyframeInterval: run.keyframeInterval)
        if let problem {
            throw StoreError.invalidRunSetting("run '\(run.name)' has settings outside this build's limits (\(problem)): the store is damaged or was written by another tool")
        }
    }

    /// The run's latest checkpoint, or `nil` when it has none.
    static func latestCheckpoint(_ db: Connection, _ run: Run) throws -> Checkpoint? {
        try db.queryFirst("SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1",
                          [.integer(run.id)], row: readCheckpoint)
    }

    /// The run's checkpoint at exactly `step`, or `nil` when there is none.
    static func checkpoint(_ db: Connection, _ run: Run, step: Int64) throws -> Checkpoint? {
        try db.queryFirst("SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? AND step = ?",
                          [.integer(run.id), .integer(step)], row: readCheckpoint)
    }

    /// The checkpoint a step spec names (``StepSpec/resolve(in:run:)``, the one place a step is
    /// resolved to the latest checkpoint at or before it).
    /// - Throws: A ``SelectionError``; ``SelectionError/startIsNoCheckpoint(run:)`` for ``StepSpec/start``.
    static func checkpoint(_ db: Connection, _ run: Run, at spec: StepSpec) throws -> Checkpoint {
        guard let step = try spec.resolve(in: checkpointSteps(db, run), run: run.name) else {
            throw SelectionError.startIsNoCheckpoint(run: run.name)
        }
        guard let found = try checkpoint(db, run, step: step) else {
            throw DeltaChain.damaged(run, step: step, "the checkpoint listed at this step cannot be read")
        }
        return found
    }

    /// The run's checkpoints, oldest first.
    static func checkpoints(_ db: Connection, _ run: Run) throws -> [Checkpoint] {
        try db.query("SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                     [.integer(run.id)], row: readCheckpoint)
    }

    /// A checkpoint's stored summary, or its decoded counts summarized when it has none.
    static func summary(_ db: Connection, _ run: Run, _ checkpoint: Checkpoint) throws -> DensitySummary {
        try storedSummary(db, run, checkpoint) ?? DensitySummary(try readState(db, run, checkpoint))
    }

    /// A run at one of its checkpoints: the stored summary and the steps waiting for ranks.
    static func overview(_ db: Connection, _ run: Run, at checkpoint: Checkpoint) throws -> RunSnapshot {
        RunSnapshot(run: run, checkpoint: checkpoint, summary: try summary(db, run, checkpoint),
                    pending: run.worldSize > 1 ? try pendingSteps(db, run) : [])
    }

    /// The chunk positions of a run, in storage order: (component, chunk, flat start, width).
    static func chunkLayout(_ run: Run) -> [ChunkPosition] {
        (0..<(run.components ?? 1)).flatMap { component in
            (0..<run.chunksPerComponent).map { chunk in chunkPosition(run, component: component, chunk: chunk) }
        }
    }

    /// Where chunk `chunk` of component `component` lies in a run's flat counts.
    static func chunkPosition(_ run: Run, component: Int, chunk: Int) -> ChunkPosition {
        (component, chunk, component * run.features + chunk * run.chunkFeatures,
         min(run.chunkFeatures, run.features - chunk * run.chunkFeatures))
    }

    /// Writes every chunk of a checkpoint: deltas against `previous` when given, else a keyframe.
    ///
    /// Wide checkpoints are a pipeline: other cores encode chunks (each thread with its own zstd
    /// context) and, with `summarize`, tally each chunk's share of the summary, while this thread
    /// inserts the chunks in order as they come, encoding some itself whenever it would otherwise
    /// wait.
    /// - Returns: The summary when asked for.
    /// - Throws: `onViolation`'s error when a count is below `previous` or grew by more than the
    ///   vectors (the caller's transaction then discards what was inserted); ``SQLiteError``.
    static func writeChunks(
        _ db: Connection, _ run: Run, checkpointID: Int64, state: DensityState, previous: DensityState?,
        zstd: Zstd, summarize: Bool = false, onViolation: () throws -> Void = {}
    ) throws -> DensitySummary? {
        let layout = chunkLayout(run)
        let insert = try ChunkInserter(db, checkpointID: checkpointID, layout: layout)
        let added = state.vectors - (previous?.vectors ?? 0)
        return try encodeChunks(layout, state: state, previous: previous, zstd: zstd, summarize: summarize) { index, chunk in
            if chunk.decreased || chunk.largestDelta > added { try onViolation() }
            try insert(index, chunk)
        }
    }

    /// Inserts the checkpoint row of a whole state (inside the caller's transaction).
    /// - Returns: The new row's id, for its chunks and summary.
    static func insertCheckpointRow(_ db: Connection, _ run: Run, step: Int64, state: DensityState, deltaDepth: Int,
                                    approximate: Bool) throws -> Int64 {
        try db.execute(
            "INSERT INTO checkpoints (run_id, step, vectors, non_finite, delta_depth, approximate) VALUES (?, ?, ?, ?, ?, ?)",
            [.integer(run.id), .integer(step), .integer(state.vectors), .integer(state.nonFinite),
             .integer(Int64(deltaDepth)), .integer(approximate ? 1 : 0)])
        return db.lastInsertedRowID
    }

    /// Inserts a checkpoint's encoded chunks, one at a time in storage order.
    final class ChunkInserter {
        private let statement: Statement
        private let checkpointID: Int64
        private let layout: [ChunkPosition]

        init(_ db: Connection, checkpointID: Int64, layout: [ChunkPosition]) throws {
            statement = try db.prepare(
                "INSERT INTO chunks (checkpoint_id, component, chunk, encoding, checksum, data) VALUES (?, ?, ?, ?, ?, ?)")
            self.checkpointID = checkpointID
            self.layout = layout
        }

        /// Inserts the chunk at `index` of the layout.
        func callAsFunction(_ index: Int, _ chunk: ChunkCodec.Encoded) throws {
            let position = layout[index]
            try statement.bind([.integer(checkpointID), .integer(Int64(position.component)),
                                .integer(Int64(position.chunk)), .integer(chunk.encoding.rawValue),
                                .integer(Int64(chunk.checksum)), .blob(chunk.data)])
            try statement.step()
        }
    }

    /// Encodes the chunks of a state (and summarizes it, if asked), handing each encoded chunk to
    /// `consume` in storage order on the calling thread.
    ///
    /// Each chunk's share of the summary is tallied right after the chunk is encoded, while its
    /// counts are in cache. When the state is wide enough to pay for threads, the other cores take
    /// chunks while the calling thread consumes chunks as they are ready and takes chunks itself
    /// while it waits. Every task has finished when this returns or throws.
    static func encodeChunks(
        _ layout: [ChunkPosition], state: DensityState,
        previous: DensityState?, zstd: Zstd, summarize: Bool, consume: (Int, ChunkCodec.Encoded) throws -> Void
    ) throws -> DensitySummary? {
        let builder = summarize
            ? DensitySummary.Builder(vectors: state.vectors, width: state.counts.count, nonFinite: state.nonFinite) : nil
        @Sendable func encode(_ index: Int, _ zstd: Zstd) -> (ChunkCodec.Encoded, DensitySummary.Tally?) {
            let range = layout[index].start..<(layout[index].start + layout[index].width)
            return state.counts.withUnsafeBufferPointer { counts in
                let chunk = UnsafeBufferPointer(rebasing: counts[range])
                let encoded = previous.map { previous in
                    previous.counts.withUnsafeBufferPointer { earlier in
                        ChunkCodec.encode(chunk, previous: UnsafeBufferPointer(rebasing: earlier[range]),
                                          rate: (previous.vectors, state.vectors - previous.vectors), zstd: zstd)
                    }
                } ?? ChunkCodec.encode(chunk, previous: nil, zstd: zstd)
                return (encoded, builder?.tally(chunk))
            }
        }
        var tallies: [DensitySummary.Tally] = []
        let helpers = min(ProcessInfo.processInfo.activeProcessorCount, layout.count) - 1
        guard helpers > 0, state.counts.count >= 1 << 18 else {
            for index in layout.indices {
                let (chunk, tally) = encode(index, zstd)
                try consume(index, chunk)
                if let tally { tallies.append(tally) }
            }
            return builder?.summary(tallies)
        }
        struct Work {
            var next = 0
            var cancelled = false
            var chunks: [(ChunkCodec.Encoded, DensitySummary.Tally?)?]
        }
        let work = Mutex(Work(chunks: .init(repeating: nil, count: layout.count)))
        let finished = layout.indices.map { _ in DispatchSemaphore(value: 0) }  // one signal per chunk
        @Sendable func claim() -> Int? {
            work.withLock { work in
                guard !work.cancelled, work.next < layout.count else { return nil }
                defer { work.next += 1 }
                return work.next
            }
        }
        @Sendable func run(_ index: Int, _ zstd: Zstd) {
            let result = encode(index, zstd)
            work.withLock { $0.chunks[index] = result }
            finished[index].signal()
        }
        let group = DispatchGroup()
        for _ in 0..<helpers {
            DispatchQueue.global(qos: .userInitiated).async(group: group) {
                let zstd = Zstd()
                while let index = claim() { run(index, zstd) }
            }
        }
        defer {
            work.withLock { $0.cancelled = true }
            group.wait()
        }
        for index in layout.indices {
            // Wait for the chunk, encoding unclaimed ones (perhaps this one) meanwhile.
            while work.withLock({ $0.chunks[index] == nil }) {
                if let other = claim() { run(other, zstd) } else { finished[index].wait() }
            }
            let (chunk, tally) = work.withLock { $0.chunks[index]! }
            try consume(index, chunk)
            if let tally { tallies.append(tally) }
        }
        return builder?.summary(tallies)
    }

    /// Stores a checkpoint's summary; none when its sum of counts passes `Int64.max` (what the
    /// `fired_total` column holds): readers then summarize the decoded counts, as for a checkpoint
    /// written before summaries existed.
    static func writeSummary(_ db: Connection, checkpointID: Int64, _ summary: DensitySummary) throws {
        guard let firedTotal = Int64(exactly: summary.firedTotal) else { return }
        try db.execute(
            "INSERT INTO checkpoint_summaries (checkpoint_id, fired_total, dead, dense, histogram) VALUES (?, ?, ?, ?, ?)",
            [.integer(checkpointID), .integer(firedTotal), .integer(Int64(summary.dead)),
             .integer(Int64(summary.dense)), .text("[" + summary.histogram.map(String.init).joined(separator: ",") + "]")])
    }

    /// The stored summary of a checkpoint, or `nil` when it has none (written before schema 0002)
    /// or what it holds cannot be a summary of the checkpoint (a sum of counts past vectors x
    /// width, more dead and dense features than there are, a histogram that does not count every
    /// feature): the caller then summarizes the decoded counts, and `verify` reports the row.
    static func storedSummary(_ db: Connection, _ run: Run, _ checkpoint: Checkpoint) throws -> DensitySummary? {
        try db.queryFirst(
            "SELECT fired_total, dead, dense, histogram FROM checkpoint_summaries WHERE checkpoint_id = ?",
            [.integer(checkpoint.id)]
        ) { row -> DensitySummary? in
            let text = row.string(3)
            let bins = text.dropFirst().dropLast().split(separator: ",").compactMap { Int($0) }
            guard text.hasPrefix("["), bins.count == DensitySummary.storedBins else { return nil }
            let width = (run.components ?? 1) * run.features
            let fired = row.int64(0), dead = row.int(1), dense = row.int(2)
            guard checkpoint.vectors >= 0, fired >= 0, Int128(fired) <= Int128(checkpoint.vectors) * Int128(width),
                  dead >= 0, dense >= 0, dead <= width - dense, bins.allSatisfy({ $0 >= 0 }),
                  bins.reduce(0, &+) == width
            else { return nil }
            return DensitySummary(vectors: checkpoint.vectors, width: width, firedTotal: Int128(fired), dead: dead,
                                  dense: dense, nonFinite: checkpoint.nonFinite, histogram: bins)
        } ?? nil
    }

    /// The checkpoints to decode, oldest first, to rebuild `checkpoint`: its keyframe, then each delta.
    static func chain(_ db: Connection, _ run: Run, to checkpoint: Checkpoint) throws -> [Checkpoint] {
        let chain = try db.query(
            "SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? AND step <= ? ORDER BY step DESC LIMIT ?",
            [.integer(run.id), .integer(checkpoint.step), .integer(Int64(checkpoint.deltaDepth) + 1)],
            row: readCheckpoint
        ).reversed()
        // Walked from its keyframe: the chain must start at depth 0 and add one at each link.
        var cursor = DeltaChain.Cursor(run, Array(chain))
        while try cursor.next() != nil {}
        guard chain.count == checkpoint.deltaDepth + 1, chain.first?.deltaDepth == 0 else {
            throw DeltaChain.damaged(run, step: checkpoint.step, "broken delta chain (its keyframe is missing)")
        }
        return Array(chain)
    }

    /// Applies one checkpoint's chunks to `counts`: keyframe chunks overwrite, delta chunks add.
    ///
    /// With `cursor` (standing on `checkpoint`, whose link and totals it has checked, with `counts`
    /// holding the state before), each chunk is also checked by it, while it is in cache, to follow
    /// that state (``DeltaChain/Cursor/requireFollows(_:after:at:)``).
    /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)`` for a chunk that does
    ///   not decode, ``StoreError/inconsistentHistory(run:step:previousStep:detail:)`` for one that
    ///   does not follow the state before.
    static func apply(_ db: Connection, _ run: Run, _ checkpoint: Checkpoint, to counts: inout [Int64], zstd: Zstd,
                      checkedBy cursor: DeltaChain.Cursor? = nil) throws {
        let statement = try db.prepare(
            "SELECT component, chunk, encoding, checksum, data FROM chunks WHERE checkpoint_id = ? ORDER BY component, chunk")
        try statement.bind([.integer(checkpoint.id)])
        let layout = chunkLayout(run)
        var expected = 0
        var before: [Int64] = []
        try counts.withUnsafeMutableBufferPointer { counts in
            while try statement.step() {
                let component = statement.int(0), chunk = statement.int(1)
                guard expected < layout.count, component == layout[expected].component, chunk == layout[expected].chunk else {
                    let want = expected < layout.count ? "component \(layout[expected].component), chunk \(layout[expected].chunk)" : "no more chunks"
                    throw DeltaChain.damaged(run, step: checkpoint.step, component: component, chunk: chunk,
                                             "unexpected chunk (expected \(want))")
                }
                let position = layout[expected]
                let range = position.start..<(position.start + position.width)
                if cursor != nil { before = Array(counts[range]) }
                try DeltaChain.decode(statement, column: 2, run: run, step: checkpoint.step, depth: checkpoint.deltaDepth,
                                      component: component, chunk: chunk,
                                      onto: UnsafeMutableBufferPointer(rebasing: counts[range]), zstd: zstd)
                if let cursor {
                    try before.withUnsafeBufferPointer { before in
                        try cursor.requireFollows(UnsafeBufferPointer(rebasing: counts[range]), after: before, at: range.lowerBound)
                    }
                }
                expected += 1
            }
        }
        guard expected == layout.count else {
            throw DeltaChain.damaged(run, step: checkpoint.step, component: layout[expected].component,
                                     chunk: layout[expected].chunk, "chunk missing")
        }
    }

    /// The exact state of a checkpoint: its keyframe and deltas decoded, every chunk checked.
    static func readState(_ db: Connection, _ run: Run, _ checkpoint: Checkpoint, zstd: Zstd = Zstd()) throws -> DensityState {
        var counts = [Int64](repeating: 0, count: (run.components ?? 1) * run.features)
        for link in try chain(db, run, to: checkpoint) {
            try apply(db, run, link, to: &counts, zstd: zstd)
        }
        do {
            return try DensityState(features: run.features, components: run.components, counts: counts,
                                    vectors: checkpoint.vectors, nonFinite: checkpoint.nonFinite)
        } catch {
            throw DeltaChain.damaged(run, step: checkpoint.step, "stored counts are inconsistent: \(error)")
        }
    }
}
