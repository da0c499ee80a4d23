internal import DensityMetric

// MARK: - When features last fired, from keyframes and the delta chains that hold the answer

extension DensityStore {
    /// The last checkpoint, up to `checkpoints[end]`, at which each of `features` fired (its
    /// count grew), inside the caller's transaction.
    ///
    /// Counts only grow, so a feature last fired at the first checkpoint whose count equals its
    /// count at `end`. Each chunk walks its keyframes backward from `end`: a keyframe already at
    /// that count means no firing in the stretch after it; one below means the last firing lies in
    /// its stretch, whose deltas are then decoded. A chunk stops as soon as its features are
    /// resolved, so the cost is the keyframes walked plus the delta chains that hold an answer,
    /// not the length of the history. Every blob decoded is checked against its checksum, its
    /// encoding against the chain's depth, and each delta against the vectors added.
    /// - Parameters:
    ///   - checkpoints: The run's checkpoints, in step order.
    ///   - end: The index in `checkpoints` of the last checkpoint to look at.
    ///   - features: Flat indexes whose count at `end` is `final[index]`.
    ///   - final: The counts at `end`, every flat index.
    /// - Returns: The step each feature last fired at; a feature that never fired (count 0 at `end`) is absent.
    static func lastFiredSteps(_ db: Connection, _ run: Run, checkpoints: [Checkpoint], end: Int,
                               features: [Int], final: [Int64]) throws -> [Int: Int64] {
        var found: [Int: Int64] = [:]
        let wanted = features.filter { final[$0] > 0 }
        guard !wanted.isEmpty else { return found }
        // The keyframes up to `end`, each starting a stretch that ends before the next one.
        var keyframes: [Int] = []
        var cursor = DeltaChain.Cursor(run, Array(checkpoints[0...end]))
        var index = 0
        while let checkpoint = try cursor.next() {
            if checkpoint.deltaDepth == 0 { keyframes.append(index) }
            index += 1
        }
        let statement = try db.prepare("SELECT encoding, checksum, data FROM chunks WHERE checkpoint_id = ? AND component = ? AND chunk = ?")
        let zstd = Zstd()
        /// Decodes one chunk of a checkpoint into `output`: a keyframe's counts replace what it
        /// holds; a delta is applied to the previous checkpoint's counts it holds (a rate-predicted
        /// delta, encoding 4, needs them).
        func decode(_ index: Int, component: Int, chunk: Int, into output: inout [Int64]) throws {
            let checkpoint = checkpoints[index]
            try statement.bind([.integer(checkpoint.id), .integer(Int64(component)), .integer(Int64(chunk))])
            guard try statement.step() else {
                throw StoreError.corruptChunk(run: run.name, step: checkpoint.step, component: component, chunk: chunk,
                                              reason: "chunk missing")
            }
            if let problem = DeltaChain.encodingProblem(statement.int64(0), depth: checkpoint.deltaDepth) {
                throw StoreError.corruptChunk(run: run.name, step: checkpoint.step, component: component, chunk: chunk,
                                              reason: problem)
            }
            if checkpoint.deltaDepth == 0 { for i in output.indices { output[i] = 0 } }
            try output.withUnsafeMutableBufferPointer { buffer in
                try decodeChunk(statement, column: 0, run: run, step: checkpoint.step, component: component, chunk: chunk,
                                into: buffer, zstd: zstd)
            }
        }
        let byChunk = Dictionary(grouping: wanted) { index in
            let component = index / run.features
            return component * run.chunksPerComponent + (index % run.features) / run.chunkFeatures
        }
        for (position, indexes) in byChunk.sorted(by: { $0.key < $1.key }) {
            let component = position / run.chunksPerComponent, chunk = position % run.chunksPerComponent
            let start = component * run.features + chunk * run.chunkFeatures
            let width = min(run.chunkFeatures, run.features - chunk * run.chunkFeatures)
            var unresolved = indexes.map { $0 - start }  // offsets in the chunk
            var keyframe = [Int64](repeating: 0, count: width)
            for (stretch, first) in keyframes.enumerated().reversed() where !unresolved.isEmpty {
                let last = stretch + 1 < keyframes.count ? keyframes[stretch + 1] - 1 : end
                try decode(first, component: component, chunk: chunk, into: &keyframe)
                let vectors = checkpoints[first].vectors
                if let bad = unresolved.first(where: { keyframe[$0] > vectors || keyframe[$0] > final[start + $0] }) {
                    throw StoreError.inconsistentHistory(
                        run: run.name, step: checkpoints[first].step, previousStep: nil,
                        detail: "the count at \(DensityState.describeIndex(start + bad, features: run.features, components: run.components)) is \(keyframe[bad]), above the vectors seen (\(vectors)) or the later count (\(final[start + bad]))")
                }
                // Below the final count at the keyframe: the last firing is after it, in this stretch
                // or at the next keyframe.
                let inStretch = unresolved.filter { keyframe[$0] < final[start + $0] }
                if first == 0 {
                    // The first checkpoint fired whatever it counts.
                    for offset in unresolved where keyframe[offset] == final[start + offset] {
                        found[start + offset] = checkpoints[0].step
                    }
                }
                unresolved.removeAll { keyframe[$0] < final[start + $0] || first == 0 }
                guard !inStretch.isEmpty else { continue }
                var counts = inStretch.map { keyframe[$0] }
                var lastChange = [Int?](repeating: nil, count: inStretch.count)
                if first < last {
                    // The chunk's counts along the stretch; each listed feature's increment is its
                    // count after a delta less its count before (``counts``).
                    var running = keyframe
                    for index in (first + 1)...last {
                        try decode(index, component: component, chunk: chunk, into: &running)
                        let added = checkpoints[index].vectors - checkpoints[index - 1].vectors
                        for (slot, offset) in inStretch.enumerated() where running[offset] != counts[slot] {
                            let increment = running[offset] - counts[slot]
                            guard increment <= added else {
                                throw StoreError.inconsistentHistory(
                                    run: run.name, step: checkpoints[index].step, previousStep: checkpoints[index - 1].step,
                                    detail: DensityState.describeGrowth(
                                        at: DensityState.describeIndex(start + offset, features: run.features, components: run.components),
                                        from: counts[slot], to: running[offset],
                                        vectorsFrom: checkpoints[index - 1].vectors, vectorsTo: checkpoints[index].vectors))
                            }
                            counts[slot] = running[offset]
                            lastChange[slot] = index
                        }
                    }
                }
                for (slot, offset) in inStretch.enumerated() {
                    // Still below at the stretch's end: it fired at the next keyframe.
                    let index = counts[slot] < final[start + offset] ? last + 1 : lastChange[slot]!
                    guard index <= end else {
                        throw StoreError.inconsistentHistory(
                            run: run.name, step: checkpoints[end].step, previousStep: nil,
                            detail: "the count at \(DensityState.describeIndex(start + offset, features: run.features, components: run.components)) does not add up along its delta chain")
                    }
                    found[start + offset] = checkpoints[index].step
                }
            }
        }
        return found
    }
}
