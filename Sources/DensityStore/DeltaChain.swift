// MARK: - The one reader of a run's delta chains

/// How a run's checkpoints chain: a keyframe (depth 0) holds counts, a delta of depth d holds the
/// increments since the checkpoint before it, of depth d - 1. Every reader walks a chain through
/// ``Cursor`` and words a broken link or a misfit encoding through ``depthProblem(_:after:)`` and
/// ``encodingProblem(_:depth:)``: one check, one wording, whether a query throws it or
/// `verify` collects it.
enum DeltaChain {
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

    /// Walks checkpoints in step order, checking each link once.
    struct Cursor {
        private let run: Run
        private var iterator: IndexingIterator<[Checkpoint]>
        private var previousDepth: Int?

        /// A cursor over `checkpoints` (in step order), the first of which must start a chain
        /// unless `previousDepth` gives the depth of the checkpoint before them.
        init(_ run: Run, _ checkpoints: [Checkpoint], previousDepth: Int? = nil) {
            self.run = run
            self.iterator = checkpoints.makeIterator()
            self.previousDepth = previousDepth
        }

        /// The next checkpoint, or `nil` at the end.
        /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)`` for a broken link.
        mutating func next() throws -> Checkpoint? {
            guard let checkpoint = iterator.next() else { return nil }
            if let problem = DeltaChain.depthProblem(checkpoint.deltaDepth, after: previousDepth) {
                throw StoreError.corruptChunk(run: run.name, step: checkpoint.step, component: 0, chunk: 0, reason: problem)
            }
            previousDepth = checkpoint.deltaDepth
            return checkpoint
        }
    }
}
