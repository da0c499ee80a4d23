internal import DensityMetric

// MARK: - States read one chunk at a time (always inside the caller's transaction)

extension DensityStore {
    /// A chunk's place in a run's counts: `(component, chunk, flat start, width)`, as
    /// ``chunkLayout(_:)`` lists them.
    typealias ChunkPosition = (component: Int, chunk: Int, start: Int, width: Int)

    /// A checkpoint's state read one chunk at a time: each chunk decoded from its keyframe and
    /// deltas (``chain(_:_:to:)``, ``DeltaChain/decode(_:column:run:step:depth:component:chunk:onto:zstd:)``)
    /// into a buffer of the chunk's width, so a reader of a wide run holds chunks, never whole
    /// states. The checks are ``readState(_:_:_:zstd:)``'s: the chain, each chunk's encoding and
    /// checksum, and every count within the vectors seen.
    struct ChunkReader {
        private let run: Run
        /// The checkpoint read; `nil` for the empty state before the first checkpoint.
        let checkpoint: Checkpoint?
        private let links: [Checkpoint]
        private let select: Statement

        /// A reader of `checkpoint`'s state (`nil`: the empty state).
        /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)`` for a broken
        ///   chain or a chunk row outside the run's layout.
        init(_ db: Connection, _ run: Run, _ checkpoint: Checkpoint?) throws {
            self.run = run
            self.checkpoint = checkpoint
            links = try checkpoint.map { try DensityStore.chain(db, run, to: $0) } ?? []
            select = try db.prepare(
                "SELECT encoding, checksum, data FROM chunks WHERE checkpoint_id = ? AND component = ? AND chunk = ?")
            // The unique (checkpoint, component, chunk) key leaves one row per position; a row
            // outside the layout is damage, as a whole-state read finds it.
            for link in links {
                if let extra = try db.queryFirst(
                    "SELECT component, chunk FROM chunks WHERE checkpoint_id = ? AND (component >= ? OR chunk >= ?) ORDER BY component, chunk LIMIT 1",
                    [.integer(link.id), .integer(Int64(run.components ?? 1)), .integer(Int64(run.chunksPerComponent))],
                    row: { ($0.int(0), $0.int(1)) }) {
                    throw DeltaChain.damaged(run, step: link.step, component: extra.0, chunk: extra.1,
                                             "unexpected chunk (expected no more chunks)")
                }
            }
        }

        /// Decodes the chunk at `position` into `output`, which is the chunk's width.
        /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)``.
        func read(_ position: ChunkPosition, into output: UnsafeMutableBufferPointer<Int64>, zstd: Zstd) throws {
            guard let checkpoint else {
                output.update(repeating: 0)
                return
            }
            for link in links {
                try select.bind([.integer(link.id), .integer(Int64(position.component)), .integer(Int64(position.chunk))])
                guard try select.step() else {
                    throw DeltaChain.damaged(run, step: link.step, component: position.component, chunk: position.chunk,
                                             "chunk missing")
                }
                try DeltaChain.decode(select, column: 0, run: run, step: link.step, depth: link.deltaDepth,
                                      component: position.component, chunk: position.chunk, onto: output, zstd: zstd)
            }
            if let problem = DensityState.rangeProblem(UnsafeBufferPointer(output), at: position.start, vectors: checkpoint.vectors,
                                                       features: run.features, components: run.components) {
                throw DeltaChain.damaged(run, step: checkpoint.step, "stored counts are inconsistent: \(problem)")
            }
        }
    }

    /// Walks the states at ascending checkpoints together, chunk by chunk in storage order, checking
    /// that each follows the one before (``DensityState/requireFollows(_:)``, chunk by chunk) as a
    /// window between them is read: `body` gets each position and that chunk of every state, in
    /// the order given. Holds one chunk per state, whatever the run's width.
    /// - Parameters:
    ///   - checkpoints: The states' checkpoints, ascending; `nil` (first only) for the empty state.
    ///   - body: Called once per chunk position.
    /// - Throws: ``StoreError/inconsistentHistory(run:step:previousStep:detail:)``, a damaged-chunk
    ///   error, or what `body` throws.
    static func forEachChunk(
        _ db: Connection, _ run: Run, of checkpoints: [Checkpoint?],
        _ body: (ChunkPosition, [UnsafeBufferPointer<Int64>]) throws -> Void
    ) throws {
        try requireTotalsFollow(run, checkpoints)
        let readers = try checkpoints.map { try ChunkReader(db, run, $0) }
        let zstd = Zstd()
        let buffers = UnsafeMutableBufferPointer<Int64>.allocate(capacity: checkpoints.count * run.chunkFeatures)
        defer { buffers.deallocate() }
        for position in chunkLayout(run) {
            let chunks = readers.indices.map { index in
                UnsafeMutableBufferPointer(rebasing: buffers[(index * run.chunkFeatures)..<(index * run.chunkFeatures + position.width)])
            }
            for (reader, chunk) in zip(readers, chunks) { try reader.read(position, into: chunk, zstd: zstd) }
            for index in chunks.indices.dropFirst() {
                guard let later = checkpoints[index] else { continue }
                try DeltaChain.requireFollows(run, UnsafeBufferPointer(chunks[index]), of: later,
                                              after: UnsafeBufferPointer(chunks[index - 1]), of: checkpoints[index - 1],
                                              at: position.start)
            }
            try body(position, chunks.map { UnsafeBufferPointer($0) })
        }
    }

    /// Checks that whole states at ascending checkpoints (`nil`: the empty state, first only) each
    /// follow the one before, as ``forEachChunk(_:_:of:_:)`` checks them chunk by chunk.
    /// - Throws: ``StoreError/inconsistentHistory(run:step:previousStep:detail:)``.
    static func requireFollows(_ run: Run, _ states: [(checkpoint: Checkpoint?, state: DensityState)]) throws {
        try requireTotalsFollow(run, states.map(\.checkpoint))
        for index in states.indices.dropFirst() {
            guard let later = states[index].checkpoint else { continue }
            try states[index].state.counts.withUnsafeBufferPointer { laterCounts in
                try states[index - 1].state.counts.withUnsafeBufferPointer { earlierCounts in
                    try DeltaChain.requireFollows(run, laterCounts, of: later, after: earlierCounts,
                                                  of: states[index - 1].checkpoint, at: 0)
                }
            }
        }
    }

    /// Checks that each checkpoint's vectors and non-finite count follow the one before's (the
    /// first check of ``DensityState/requireFollows(_:)``), before any count is read.
    /// - Throws: ``StoreError/inconsistentHistory(run:step:previousStep:detail:)``.
    static func requireTotalsFollow(_ run: Run, _ checkpoints: [Checkpoint?]) throws {
        for index in checkpoints.indices.dropFirst() {
            guard let later = checkpoints[index] else { continue }
            try DeltaChain.requireTotalsFollow(run, later, after: checkpoints[index - 1])
        }
    }
}
