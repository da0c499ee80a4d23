internal import Foundation

/// Finds, chunk by chunk, the features dead in a window (count 0) that fired before it, those whose
/// count last rose latest first (ties by index), keeping the first `limit`.
///
/// A feature's last rise is its last firing up to the window's start, as `dead` finds it
/// (``LastFiredSearch``): the first checkpoint at which its count has its value at the window's
/// start (counts never decrease), from a binary search of the keyframes and the stretch of deltas
/// before the first keyframe at that value. One chunk is searched at a time, only its candidates'
/// values are read, and once `limit` are kept the parts of the search that can only find earlier
/// firings are skipped.
struct RecentlyDeadSearch {
    private let limit: Int
    private let search: LastFiredSearch
    private let reader: ChunkBlobs
    /// The features found, latest rise first, ties by index; at most `limit`.
    private(set) var found: [WindowMovers.RecentlyDead] = []

    /// A search before the window starting at `start`, inside the caller's transaction.
    /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)`` for a broken chain.
    init(_ db: Connection, _ run: Run, before start: Checkpoint, limit: Int) throws {
        self.limit = limit
        let checkpoints = try db.query(
            "SELECT \(DensityStore.checkpointColumns) FROM checkpoints WHERE run_id = ? AND step <= ? ORDER BY step",
            [.integer(run.id), .integer(start.step)], row: DensityStore.readCheckpoint)
        search = try LastFiredSearch(run, checkpoints: checkpoints, end: checkpoints.count - 1)
        reader = try ChunkBlobs(db, lock: NSLock())
    }

    /// Searches one chunk, given the window's counts and the state at its start.
    mutating func add(_ position: DensityStore.ChunkPosition, window: UnsafeBufferPointer<Int64>,
                      start: UnsafeBufferPointer<Int64>) throws {
        let offsets = (0..<position.width).filter { window[$0] == 0 && start[$0] > 0 }
        guard !offsets.isEmpty else { return }
        let fired = try search.chunk(position, offsets: offsets, target: offsets.map { start[$0] }, reader,
                                     notBefore: found.count == limit ? found[limit - 1].lastRose : .min)
        found = Array((found + fired.map { WindowMovers.RecentlyDead(index: $0.0, lastRose: $0.1) })
            .sorted { $0.lastRose != $1.lastRose ? $0.lastRose > $1.lastRose : $0.index < $1.index }
            .prefix(limit))
    }
}
