internal import DensityMetric

// MARK: - Reading and writing rows (always inside the caller's transaction)

extension DensityStore {
    static let runColumns = "id, name, features, components, fire_threshold, chunk_features, created_at, metadata"
    static let checkpointColumns = "id, step, vectors, non_finite, wall_time"

    static func readRun(_ row: Statement) -> Run {
        Run(id: row.int64(0), name: row.string(1), features: row.int(2),
            components: row.isNull(3) ? nil : row.int(3), fireThreshold: row.double(4),
            chunkFeatures: row.int(5), createdAt: row.string(6), metadata: row.optionalString(7))
    }

    static func readCheckpoint(_ row: Statement) -> Checkpoint {
        Checkpoint(id: row.int64(0), step: row.int64(1), vectors: row.int64(2), nonFinite: row.int64(3),
                   wallTime: row.string(4))
    }

    static func findRun(_ db: Connection, _ name: String) throws -> Run? {
        try db.queryFirst("SELECT \(runColumns) FROM runs WHERE name = ?", [.text(name)], row: readRun)
    }

    static func requireRun(_ db: Connection, _ name: String) throws -> Run {
        if let run = try findRun(db, name) { return run }
        let known = try db.query("SELECT name FROM runs ORDER BY name") { $0.string(0) }
        throw StoreError.unknownRun(name: name, known: known)
    }

    /// The latest checkpoint at or before `step` (the latest of all when `step` is nil).
    static func checkpoint(_ db: Connection, _ run: Run, atOrBefore step: Int64?) throws -> Checkpoint? {
        try db.queryFirst(
            "SELECT \(checkpointColumns) FROM checkpoints WHERE run_id = ? AND step <= ? ORDER BY step DESC LIMIT 1",
            [.integer(run.id), .integer(step ?? .max)], row: readCheckpoint)
    }

    static func writeChunks(_ db: Connection, _ run: Run, checkpointID: Int64, state: DensityState) throws {
        let insert = try db.prepare(
            "INSERT INTO chunks (checkpoint_id, component, chunk, encoding, checksum, data) VALUES (?, ?, ?, ?, ?, ?)")
        try state.counts.withUnsafeBufferPointer { counts in
            for component in 0..<(run.components ?? 1) {
                for chunk in 0..<run.chunksPerComponent {
                    let start = component * run.features + chunk * run.chunkFeatures
                    let width = min(run.chunkFeatures, run.features - chunk * run.chunkFeatures)
                    let encoded = ChunkCodec.encode(UnsafeBufferPointer(rebasing: counts[start..<(start + width)]))
                    try insert.bind([.integer(checkpointID), .integer(Int64(component)), .integer(Int64(chunk)),
                                     .integer(encoded.encoding.rawValue), .integer(Int64(encoded.checksum)),
                                     .blob(encoded.data)])
                    try insert.step()
                }
            }
        }
    }

    /// Decodes the chunk in columns 2 (encoding), 3 (checksum) and 4 (data) of the current row.
    static func decodeChunk(
        _ row: Statement, run: Run, step: Int64, component: Int, chunk: Int,
        into output: UnsafeMutableBufferPointer<Int64>
    ) throws {
        let encoding = row.int64(2), checksum = row.int64(3)
        do {
            try row.withBlob(4) { blob in
                try ChunkCodec.decode(encoding: encoding, blob: blob, checksum: checksum, into: output)
            }
        } catch let error as ChunkCodec.DecodeError {
            throw StoreError.corruptChunk(run: run.name, step: step, component: component, chunk: chunk, reason: error.reason)
        }
    }

    /// The exact state of a checkpoint, every chunk checked.
    static func readState(_ db: Connection, _ run: Run, _ checkpoint: Checkpoint) throws -> DensityState {
        var counts = [Int64](repeating: 0, count: (run.components ?? 1) * run.features)
        let statement = try db.prepare(
            "SELECT component, chunk, encoding, checksum, data FROM chunks WHERE checkpoint_id = ? ORDER BY component, chunk")
        try statement.bind([.integer(checkpoint.id)])
        var expected = 0
        let chunkCount = (run.components ?? 1) * run.chunksPerComponent
        try counts.withUnsafeMutableBufferPointer { counts in
            while try statement.step() {
                let component = statement.int(0), chunk = statement.int(1)
                guard expected < chunkCount,
                      component == expected / run.chunksPerComponent, chunk == expected % run.chunksPerComponent
                else {
                    throw StoreError.corruptChunk(
                        run: run.name, step: checkpoint.step, component: component, chunk: chunk,
                        reason: "unexpected chunk (expected component \(expected / run.chunksPerComponent), chunk \(expected % run.chunksPerComponent))")
                }
                let start = component * run.features + chunk * run.chunkFeatures
                let width = min(run.chunkFeatures, run.features - chunk * run.chunkFeatures)
                try decodeChunk(statement, run: run, step: checkpoint.step, component: component, chunk: chunk,
                                into: UnsafeMutableBufferPointer(rebasing: counts[start..<(start + width)]))
                expected += 1
            }
        }
        guard expected == chunkCount else {
            throw StoreError.corruptChunk(
                run: run.name, step: checkpoint.step, component: expected / run.chunksPerComponent,
                chunk: expected % run.chunksPerComponent, reason: "chunk missing")
        }
        do {
            return try DensityState(features: run.features, components: run.components, counts: counts,
                                    vectors: checkpoint.vectors, nonFinite: checkpoint.nonFinite)
        } catch {
            throw StoreError.corruptChunk(run: run.name, step: checkpoint.step, component: 0, chunk: 0,
                                          reason: "stored counts are inconsistent: \(error)")
        }
    }
}
