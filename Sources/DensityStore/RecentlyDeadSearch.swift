internal import DensityMetric

/// Finds, chunk by chunk, the features dead in a window (count 0) that fired before it, those whose
/// count last rose latest first (ties by index), keeping the first `limit`.
///
/// A feature's last rise is the first checkpoint, up to the window's start, at which its count has
/// its value at the window's start (counts never decrease). Within a chunk the candidates are found
/// by bisecting the checkpoints: one read of the chunk splits the candidates into those whose count
/// was already final there and those whose count still rose after, so each chunk costs a few
/// dozen chunk reads however long the run, and none is held longer than its search. A part of the
/// search that can only find rises earlier than the last kept is skipped once `limit` are kept.
struct RecentlyDeadSearch {
    private let db: Connection
    private let run: Run
    private let limit: Int
    /// The checkpoints up to the window's start, in step order.
    private let checkpoints: [Checkpoint]
    /// Chunk readers, made as the search first needs each checkpoint.
    private var readers: [Int: DensityStore.ChunkReader] = [:]
    private let zstd = Zstd()
    /// The features found, latest rise first, ties by index; at most `limit`.
    private(set) var found: [WindowMovers.RecentlyDead] = []

    /// A search before the window starting at `start`.
    init(_ db: Connection, _ run: Run, before start: Checkpoint, limit: Int) throws {
        self.db = db
        self.run = run
        self.limit = limit
        checkpoints = try db.query(
            "SELECT \(DensityStore.checkpointColumns) FROM checkpoints WHERE run_id = ? AND step <= ? ORDER BY step",
            [.integer(run.id), .integer(start.step)], row: DensityStore.readCheckpoint)
    }

    /// Searches one chunk, given the window's counts and the state at its start.
    mutating func add(_ position: DensityStore.ChunkPosition, window: UnsafeBufferPointer<Int64>,
                      start: UnsafeBufferPointer<Int64>) throws {
        let candidates = (0..<position.width).filter { window[$0] == 0 && start[$0] > 0 }
        guard !candidates.isEmpty, !checkpoints.isEmpty else { return }
        let chunk = UnsafeMutableBufferPointer<Int64>.allocate(capacity: position.width)
        defer { chunk.deallocate() }
        // Each pending part: candidates whose last rise is at a checkpoint in low...high.
        var parts = [(candidates: candidates, low: 0, high: checkpoints.count - 1)]
        while let part = parts.popLast() {
            if found.count == limit, checkpoints[part.high].step < found[found.count - 1].lastRose { continue }
            if part.low == part.high {
                keep(part.candidates.map { position.start + $0 }, lastRose: checkpoints[part.low].step)
                continue
            }
            let middle = (part.low + part.high) / 2
            try reader(middle).read(position, into: chunk, zstd: zstd)
            // A count at its value at the window's start (its final value) has risen for the last time.
            let reached = part.candidates.filter { chunk[$0] == start[$0] }
            let later = part.candidates.filter { chunk[$0] != start[$0] }
            // The earlier half last, so the later rises are kept first and prune it.
            if !reached.isEmpty { parts.append((reached, part.low, middle)) }
            if !later.isEmpty { parts.append((later, middle + 1, part.high)) }
        }
    }

    /// Keeps features that last rose at one step, in the found order.
    private mutating func keep(_ indexes: [Int], lastRose: Int64) {
        let items = indexes.map { WindowMovers.RecentlyDead(index: $0, lastRose: lastRose) }
        found = Array((found + items).sorted { $0.lastRose != $1.lastRose ? $0.lastRose > $1.lastRose : $0.index < $1.index }
            .prefix(limit))
    }

    /// The reader of checkpoint `index`, made once.
    private mutating func reader(_ index: Int) throws -> DensityStore.ChunkReader {
        if let reader = readers[index] { return reader }
        let reader = try DensityStore.ChunkReader(db, run, checkpoints[index])
        readers[index] = reader
        return reader
    }
}
