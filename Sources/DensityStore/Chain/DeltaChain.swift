internal import DensityMetric

// MARK: - The one reader of a run's delta chains

/// How a run's checkpoints chain: a keyframe (depth 0) holds counts, a delta of depth d holds the
/// increments since the checkpoint before it, of depth d - 1.
///
/// Every reader of stored counts goes through here: ``Cursor`` walks checkpoints in step order
/// and checks each link once; ``decode(_:column:run:step:depth:component:chunk:onto:zstd:)`` (a
/// whole chunk) and ``decode(_:column:run:step:depth:component:chunk:at:width:onto:zstd:scratch:)``
/// (some of its features) check a chunk's encoding against its checkpoint's depth and decode it
/// onto the counts before it. A broken link, a misfit encoding, a missing chunk and a blob that
/// does not decode each have one wording, whether a query throws it or `verify` collects it.
enum DeltaChain {
    // MARK: - One checkpoint following another

    /// Checks that checkpoint `later`'s vectors and non-finite count follow `earlier`'s (`nil`: the
    /// empty state before the first), the first check of ``DensityMetric/DensityState/requireFollows(_:)``,
    /// before any count is read.
    /// - Throws: ``StoreError/inconsistentHistory(run:step:previousStep:detail:)``.
    static func requireTotalsFollow(_ run: Run, _ later: Checkpoint, after earlier: Checkpoint?) throws {
        try requireTotalsFollow(run, (later.step, later.vectors, later.nonFinite),
                                after: earlier.map { ($0.step, $0.vectors, $0.nonFinite) })
    }

    /// ``requireTotalsFollow(_:_:after:)`` of the totals as read.
    static func requireTotalsFollow(_ run: Run, _ later: (step: Int64, vectors: Int64, nonFinite: Int64),
                                    after earlier: (step: Int64, vectors: Int64, nonFinite: Int64)?) throws {
        if let problem = totalsProblem(run, later, after: earlier) { throw problem }
    }

    /// What ``requireTotalsFollow(_:_:after:)`` throws, or `nil`.
    static func totalsProblem(_ run: Run, _ later: (step: Int64, vectors: Int64, nonFinite: Int64),
                              after earlier: (step: Int64, vectors: Int64, nonFinite: Int64)?) -> StoreError? {
        guard let problem = DensityState.totalsProblem(vectors: (earlier?.vectors ?? 0, later.vectors),
                                                       nonFinite: (earlier?.nonFinite ?? 0, later.nonFinite))
        else { return nil }
        return .inconsistentHistory(run: run.name, step: later.step, previousStep: earlier?.step, detail: "\(problem)")
    }

    /// Checks that a piece of checkpoint `later`'s counts, the first at flat index `start`, follows
    /// the same piece of `earlier`'s (`nil`: the empty state): no count below the earlier one, none
    /// grown by more than the vectors (``DensityMetric/DensityState/followProblem(_:after:at:vectors:features:components:)``).
    /// - Throws: ``StoreError/inconsistentHistory(run:step:previousStep:detail:)``.
    static func requireFollows(_ run: Run, _ later: UnsafeBufferPointer<Int64>, of laterCheckpoint: Checkpoint,
                               after earlier: UnsafeBufferPointer<Int64>, of earlierCheckpoint: Checkpoint?, at start: Int) throws {
        try requireFollows(run, later, of: (laterCheckpoint.step, laterCheckpoint.vectors), after: earlier,
                           of: earlierCheckpoint.map { ($0.step, $0.vectors) }, at: start)
    }

    /// ``requireFollows(_:_:of:after:of:at:)`` of the steps and vectors as read.
    static func requireFollows(_ run: Run, _ later: UnsafeBufferPointer<Int64>, of laterCheckpoint: (step: Int64, vectors: Int64),
                               after earlier: UnsafeBufferPointer<Int64>, of earlierCheckpoint: (step: Int64, vectors: Int64)?,
                               at start: Int) throws {
        if let problem = followProblem(run, later, of: laterCheckpoint, after: earlier, of: earlierCheckpoint, at: start) {
            throw problem
        }
    }

    /// What ``requireFollows(_:_:of:after:of:at:)`` throws, or `nil`.
    static func followProblem(_ run: Run, _ later: UnsafeBufferPointer<Int64>, of laterCheckpoint: (step: Int64, vectors: Int64),
                              after earlier: UnsafeBufferPointer<Int64>, of earlierCheckpoint: (step: Int64, vectors: Int64)?,
                              at start: Int) -> StoreError? {
        guard let problem = DensityState.followProblem(later, after: earlier, at: start,
                                                       vectors: (earlierCheckpoint?.vectors ?? 0, laterCheckpoint.vectors),
                                                       features: run.features, components: run.components)
        else { return nil }
        return .inconsistentHistory(run: run.name, step: laterCheckpoint.step, previousStep: earlierCheckpoint?.step,
                                    detail: "\(problem)")
    }

    /// ``requireFollows(_:_:of:after:of:at:)`` of one value, the count at flat index `index`.
    static func requireFollows(_ run: Run, _ later: Int64, of laterCheckpoint: (step: Int64, vectors: Int64),
                               after earlier: Int64, of earlierCheckpoint: (step: Int64, vectors: Int64)?, at index: Int) throws {
        // The common case, a count that did not fall and grew by at most the vectors, costs no call.
        if later >= earlier, later - earlier <= laterCheckpoint.vectors - (earlierCheckpoint?.vectors ?? 0) { return }
        try withUnsafePointer(to: later) { later in
            try withUnsafePointer(to: earlier) { earlier in
                try requireFollows(run, UnsafeBufferPointer(start: later, count: 1), of: laterCheckpoint,
                                   after: UnsafeBufferPointer(start: earlier, count: 1), of: earlierCheckpoint, at: index)
            }
        }
    }

    /// Why a checkpoint of `depth` cannot follow one of depth `previous` (`nil`: it is the first
    /// read), or `nil` when it can.
    static func depthProblem(_ depth: Int, after previous: Int?) -> String? {
        depth == 0 || depth == (previous ?? -1) + 1 ? nil : "broken delta chain (depth \(depth) after \(previous ?? -1))"
    }

    /// Why a chunk of `encoding` cannot be stored in a checkpoint of `depth` (a keyframe holds
    /// absolute counts, a delta increments), or `nil`. An unknown encoding is left to the decoder,
    /// which names it.
    static func encodingProblem(_ encoding: Int64, depth: Int) -> String? {
        guard let kind = ChunkEncoding(rawValue: encoding), kind.isAbsolute != (depth == 0) else { return nil }
        return "encoding \(encoding) does not fit a checkpoint of delta depth \(depth)"
    }

    /// The error for a damaged chunk (a `chunk` of 0 and `component` of 0 for a whole checkpoint).
    static func damaged(_ run: Run, step: Int64, component: Int = 0, chunk: Int = 0, _ reason: String) -> StoreError {
        .corruptChunk(run: run.name, step: step, component: component, chunk: chunk, reason: reason)
    }

    // MARK: - Decoding one stored chunk

    /// Decodes the chunk in columns `column` (encoding), `column + 1` (checksum) and `column + 2`
    /// (data) of the current row onto `output`, the chunk's counts at the checkpoint before (a
    /// keyframe replaces them, a delta is added), after checking its encoding fits `depth`. A NULL
    /// encoding (a chunk a join did not find) is a missing chunk.
    /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
    static func decode(
        _ row: Statement, column: Int32, run: Run, step: Int64, depth: Int, component: Int, chunk: Int,
        onto output: UnsafeMutableBufferPointer<Int64>, zstd: Zstd
    ) throws {
        let encoding = try checkedEncoding(row, column: column, run: run, step: step, depth: depth, component: component, chunk: chunk)
        do {
            try row.withBlob(column + 2) { blob in
                try ChunkCodec.decode(encoding: encoding, blob: blob, checksum: row.int64(column + 1), into: output, zstd: zstd)
            }
        } catch let error as ChunkCodec.DecodeError {
            throw damaged(run, step: step, component: component, chunk: chunk, error.reason)
        }
    }

    /// ``decode(_:column:run:step:depth:component:chunk:onto:zstd:)`` of the values at `indexes`
    /// (ascending) of a chunk of `width` features only, onto `counts` (one per index).
    /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
    static func decode(
        _ row: Statement, column: Int32, run: Run, step: Int64, depth: Int, component: Int, chunk: Int,
        at indexes: UnsafeBufferPointer<Int>, width: Int, onto counts: UnsafeMutableBufferPointer<Int64>,
        zstd: Zstd, scratch: inout [UInt8]
    ) throws {
        try row.withBlob(column + 2) { blob in
            try decode(encoding: row.isNull(column) ? nil : row.int64(column), checksum: row.int64(column + 1), blob: blob,
                       run: run, step: step, depth: depth, component: component, chunk: chunk, at: indexes, width: width,
                       onto: counts, zstd: zstd, scratch: &scratch)
        }
    }

    /// ``decode(_:column:run:step:depth:component:chunk:at:width:onto:zstd:scratch:)`` of a blob
    /// already read (`encoding` `nil`: the chunk is missing).
    /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
    static func decode(
        encoding: Int64?, checksum: Int64, blob: UnsafeRawBufferPointer, run: Run, step: Int64, depth: Int,
        component: Int, chunk: Int, at indexes: UnsafeBufferPointer<Int>, width: Int,
        onto counts: UnsafeMutableBufferPointer<Int64>, zstd: Zstd, scratch: inout [UInt8]
    ) throws {
        let encoding = try checked(encoding, run: run, step: step, depth: depth, component: component, chunk: chunk)
        do {
            try ChunkCodec.decode(encoding: encoding, blob: blob, checksum: checksum, at: indexes, count: width,
                                  onto: counts, zstd: zstd, scratch: &scratch)
        } catch {
            throw damaged(run, step: step, component: component, chunk: chunk, error.reason)
        }
    }

    /// Checks a rate-predicted delta (encoding 4) whose previous counts are not known, as far as
    /// it can be without them (``ChunkCodec/checkRateDelta(blob:checksum:count:zstd:)``), after
    /// checking its encoding fits `depth`.
    /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
    static func check(
        _ row: Statement, column: Int32, run: Run, step: Int64, depth: Int, component: Int, chunk: Int, width: Int, zstd: Zstd
    ) throws {
        _ = try checkedEncoding(row, column: column, run: run, step: step, depth: depth, component: component, chunk: chunk)
        do {
            try row.withBlob(column + 2) { blob in
                try ChunkCodec.checkRateDelta(blob: blob, checksum: row.int64(column + 1), count: width, zstd: zstd)
            }
        } catch let error as ChunkCodec.DecodeError {
            throw damaged(run, step: step, component: component, chunk: chunk, error.reason)
        }
    }

    /// The encoding in column `column` of the current row, checked to be there and to fit `depth`.
    private static func checkedEncoding(
        _ row: Statement, column: Int32, run: Run, step: Int64, depth: Int, component: Int, chunk: Int
    ) throws -> Int64 {
        try checked(row.isNull(column) ? nil : row.int64(column), run: run, step: step, depth: depth,
                    component: component, chunk: chunk)
    }

    /// A chunk's encoding, checked to be there (not `nil`) and to fit `depth`.
    private static func checked(_ encoding: Int64?, run: Run, step: Int64, depth: Int, component: Int, chunk: Int) throws -> Int64 {
        guard let encoding else { throw damaged(run, step: step, component: component, chunk: chunk, "chunk missing") }
        if let problem = encodingProblem(encoding, depth: depth) {
            throw damaged(run, step: step, component: component, chunk: chunk, problem)
        }
        return encoding
    }

    // MARK: - Walking checkpoints

    /// The one stepper of a run's chains: walks checkpoints in step order, its callers handing it
    /// each row (step, depth, vectors, non-finite count), and checks each link once — the depth
    /// link, the totals following the checkpoint before, and (for the counts a caller decodes, a
    /// whole chunk, some offsets of one, or one value) the counts following theirs — then decodes
    /// the chunks of the checkpoint it stands on. A query throws what it finds; `verify` asks the
    /// same questions through ``report(step:depth:vectors:nonFinite:)`` and collects the answers.
    struct Cursor {
        /// A checkpoint as the cursor sees it.
        typealias Totals = (step: Int64, vectors: Int64, nonFinite: Int64)

        let run: Run
        let zstd: Zstd
        private var iterator: IndexingIterator<[Checkpoint]>
        private var previousDepth: Int?
        private var current: (step: Int64, depth: Int) = (0, 0)
        /// The totals of the checkpoint the cursor stands on, and of the one before it (`nil`: the
        /// empty state before the first).
        private(set) var totals: Totals = (0, 0, 0)
        private(set) var earlier: Totals?

        /// A cursor over `checkpoints` (in step order; none when the caller streams them through
        /// ``enter(step:depth:vectors:nonFinite:)``), the first of which must start a chain unless
        /// `previousDepth` gives the depth of the checkpoint before them.
        init(_ run: Run, _ checkpoints: [Checkpoint] = [], previousDepth: Int? = nil, zstd: Zstd = Zstd()) {
            self.run = run
            self.zstd = zstd
            self.iterator = checkpoints.makeIterator()
            self.previousDepth = previousDepth
        }

        /// Moves to the next checkpoint of the list, or returns `nil` at the end.
        /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)`` for a broken link,
        ///   ``StoreError/inconsistentHistory(run:step:previousStep:detail:)`` for totals that fall.
        mutating func next() throws -> Checkpoint? {
            guard let checkpoint = iterator.next() else { return nil }
            try enter(step: checkpoint.step, depth: checkpoint.deltaDepth, vectors: checkpoint.vectors,
                      nonFinite: checkpoint.nonFinite)
            return checkpoint
        }

        /// Moves to a checkpoint the caller read, the next in step order, checking its depth link
        /// and that its totals follow the checkpoint before.
        /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)`` for a broken link,
        ///   ``StoreError/inconsistentHistory(run:step:previousStep:detail:)`` for totals that fall.
        mutating func enter(step: Int64, depth: Int, vectors: Int64, nonFinite: Int64) throws {
            let problems = report(step: step, depth: depth, vectors: vectors, nonFinite: nonFinite)
            if let link = problems.link { throw damaged(run, step: step, link) }
            if let totals = problems.totals { throw totals }
        }

        /// Moves to a checkpoint the caller read even when it does not follow the one before, and
        /// says what ``enter(step:depth:vectors:nonFinite:)`` would throw (`verify` collects what
        /// queries throw): why the depth link is broken, and the error of totals that fall.
        mutating func report(step: Int64, depth: Int, vectors: Int64, nonFinite: Int64) -> (link: String?, totals: StoreError?) {
            let link = depthProblem(depth, after: previousDepth)
            let before = started ? totals : nil
            let fall = totalsProblem(run, (step, vectors, nonFinite), after: before)
            (earlier, totals, previousDepth, current, started) = (before, (step, vectors, nonFinite), depth, (step, depth), true)
            return (link, fall)
        }

        // MARK: Counts following

        /// Checks that a piece of the current checkpoint's counts, the first at flat index `start`,
        /// follows the same piece of the checkpoint before's (the empty state before the first): no
        /// count below the earlier one, none grown by more than the vectors.
        /// - Throws: ``StoreError/inconsistentHistory(run:step:previousStep:detail:)``.
        func requireFollows(_ later: UnsafeBufferPointer<Int64>, after before: UnsafeBufferPointer<Int64>, at start: Int) throws {
            if let problem = followProblem(later, after: before, at: start) { throw problem }
        }

        /// What ``requireFollows(_:after:at:)`` would throw, or `nil`.
        func followProblem(_ later: UnsafeBufferPointer<Int64>, after before: UnsafeBufferPointer<Int64>, at start: Int) -> StoreError? {
            DeltaChain.followProblem(run, later, of: (totals.step, totals.vectors), after: before,
                                     of: earlier.map { ($0.step, $0.vectors) }, at: start)
        }

        /// ``requireFollows(_:after:at:)`` of the values at `offsets` (ascending) of the chunk whose
        /// first count is at flat index `start`, one check per value.
        func requireFollows(_ later: UnsafeBufferPointer<Int64>, after before: UnsafeBufferPointer<Int64>,
                            offsets: UnsafeBufferPointer<Int>, start: Int) throws {
            for index in later.indices {
                try requireFollows(later[index], after: before[index], at: start + offsets[index])
            }
        }

        /// ``requireFollows(_:after:at:)`` of one value, the count at flat index `index`.
        func requireFollows(_ later: Int64, after before: Int64, at index: Int) throws {
            try DeltaChain.requireFollows(run, later, of: (totals.step, totals.vectors), after: before,
                                          of: earlier.map { ($0.step, $0.vectors) }, at: index)
        }

        /// Checks that the values of a chunk of the current checkpoint are counts after its vectors
        /// (none below 0 or above them).
        /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
        func requireWithinVectors(_ values: UnsafeBufferPointer<Int64>, component: Int, chunk: Int) throws {
            if let count = values.first(where: { $0 < 0 || $0 > totals.vectors }) {
                throw damaged(run, step: totals.step, component: component, chunk: chunk,
                              "count \(count) is outside 0...\(totals.vectors) (the vectors seen)")
            }
        }

        private var started = false

        /// Decodes a chunk of the current checkpoint from the current row onto its counts at the
        /// checkpoint before (``DeltaChain/decode(_:column:run:step:depth:component:chunk:onto:zstd:)``).
        func decode(_ row: Statement, column: Int32, component: Int, chunk: Int,
                    onto output: UnsafeMutableBufferPointer<Int64>) throws {
            try DeltaChain.decode(row, column: column, run: run, step: current.step, depth: current.depth,
                                  component: component, chunk: chunk, onto: output, zstd: zstd)
        }

        /// Decodes some values of a chunk of the current checkpoint
        /// (``DeltaChain/decode(_:column:run:step:depth:component:chunk:at:width:onto:zstd:scratch:)``).
        func decode(_ row: Statement, column: Int32, component: Int, chunk: Int, at indexes: UnsafeBufferPointer<Int>,
                    width: Int, onto counts: UnsafeMutableBufferPointer<Int64>, scratch: inout [UInt8]) throws {
            try DeltaChain.decode(row, column: column, run: run, step: current.step, depth: current.depth,
                                  component: component, chunk: chunk, at: indexes, width: width, onto: counts,
                                  zstd: zstd, scratch: &scratch)
        }

        /// Checks a rate-predicted delta of the current checkpoint whose previous counts are not
        /// known (``DeltaChain/check(_:column:run:step:depth:component:chunk:width:zstd:)``).
        func check(_ row: Statement, column: Int32, component: Int, chunk: Int, width: Int) throws {
            try DeltaChain.check(row, column: column, run: run, step: current.step, depth: current.depth,
                                 component: component, chunk: chunk, width: width, zstd: zstd)
        }
    }
}
