internal import DensityMetric

extension DensityStore {
    /// ``StoreSnapshot/featureHistory(run:pairs:)`` inside the caller's transaction.
    static func featureHistory(_ db: Connection, _ run: Run, pairs: [FeatureHistory.Pair]) throws -> FeatureHistory {
        for pair in pairs {
            guard (0..<run.features).contains(pair.feature) else {
                throw StoreError.indexOutOfRange(run: run.name, what: "feature", index: pair.feature, size: run.features)
            }
            guard (0..<(run.components ?? 1)).contains(pair.component) else {
                throw StoreError.indexOutOfRange(run: run.name, what: "component", index: pair.component,
                                                 size: run.components ?? 1)
            }
        }
        let checkpoints = try db.query("SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? ORDER BY step",
                                       [.integer(run.id)], row: readCheckpoint)
        let columns = pairs.count
        var counts = [Int64](repeating: 0, count: checkpoints.count * columns)
        guard columns > 0, !checkpoints.isEmpty else {
            return FeatureHistory(pairs: pairs, checkpoints: checkpoints, counts: counts)
        }
        // The columns that each stored chunk serves.
        var byChunk: [Int: [Int]] = [:]
        for (column, pair) in pairs.enumerated() {
            byChunk[pair.component * run.chunksPerComponent + pair.feature / run.chunkFeatures, default: []].append(column)
        }
        let statement = try db.prepare("""
            SELECT c.step, c.delta_depth, k.encoding, k.checksum, k.data
            FROM checkpoints c LEFT JOIN chunks k ON k.checkpoint_id = c.id AND k.component = ? AND k.chunk = ?
            WHERE c.run_id = ? ORDER BY c.step
            """)
        var scratch: [UInt8] = []
        for key in byChunk.keys.sorted() {
            let served = byChunk[key]!
            let component = key / run.chunksPerComponent, chunk = key % run.chunksPerComponent
            let position = chunkPosition(run, component: component, chunk: chunk)
            // The distinct offsets within the chunk, ascending, as the decoder takes them.
            let offsets = Array(Set(served.map { pairs[$0].feature - chunk * run.chunkFeatures })).sorted()
            let slot = Dictionary(uniqueKeysWithValues: offsets.enumerated().map { ($1, $0) })
            let slots = served.map { slot[pairs[$0].feature - chunk * run.chunkFeatures]! }
            var values = [Int64](repeating: 0, count: offsets.count)
            var previous = values
            var cursor = DeltaChain.Cursor(run)
            try statement.bind([.integer(Int64(component)), .integer(Int64(chunk)), .integer(run.id)])
            var row = 0
            while try statement.step() {
                let step = statement.int64(0)
                guard row < checkpoints.count, checkpoints[row].step == step else {
                    throw DeltaChain.damaged(run, step: step, component: component, chunk: chunk,
                                             "the checkpoints changed while they were read")
                }
                let checkpoint = checkpoints[row]
                try cursor.enter(step: step, depth: statement.int(1), vectors: checkpoint.vectors, nonFinite: checkpoint.nonFinite)
                try offsets.withUnsafeBufferPointer { offsets in
                    try values.withUnsafeMutableBufferPointer { values in
                        try cursor.decode(statement, column: 2, component: component, chunk: chunk, at: offsets,
                                          width: position.width, onto: values, scratch: &scratch)
                        try cursor.requireWithinVectors(UnsafeBufferPointer(values), component: component, chunk: chunk)
                        try previous.withUnsafeBufferPointer { previous in
                            try cursor.requireFollows(UnsafeBufferPointer(values), after: previous, offsets: offsets,
                                                      start: position.start)
                        }
                    }
                }
                for (column, slot) in zip(served, slots) { counts[row * columns + column] = values[slot] }
                previous = values
                row += 1
            }
            guard row == checkpoints.count else {
                throw DeltaChain.damaged(run, step: checkpoints[row].step, component: component, chunk: chunk,
                                         "the checkpoints changed while they were read")
            }
        }
        return FeatureHistory(pairs: pairs, checkpoints: checkpoints, counts: counts)
    }
}
