// A synthetic SAE run written into a real store, shared by the store sections.

import DensityMetric
import DensityStore
import DensityWorkload
import Foundation
import Synchronization

/// The folder `--work-dir` names, if any.
let benchFolderOverride = Mutex<URL?>(nil)

/// Where the benchmark's stores go: `--work-dir`, else a temporary folder removed at exit.
var benchFolder: URL { benchFolderOverride.withLock { $0 } ?? temporaryBenchFolder }

/// A temporary folder for the benchmark's stores, removed at exit.
let temporaryBenchFolder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("density-bench-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: temporaryBenchFolder) }
    return url
}()

/// Cumulative states of a realistic run: counts as at training step `startStep` (batch 4096 a
/// step), then each checkpoint adds `stepsPerCheckpoint` steps of firings.
///
/// Increments are drawn from a handful of distinct draws, cycled, so building 10,000 checkpoints of
/// a million features does not spend minutes in the random generator; dying features still die.
struct RunSimulation {
    let workload: SyntheticSAE
    let features: Int
    let stepsPerCheckpoint: Int
    private(set) var state: DensityState
    private(set) var step: Int64
    private var increments: [[Int64]] = []
    private var index = 0

    init(features: Int, stepsPerCheckpoint: Int, startStep: Int64 = 50_000, seed: UInt64 = 11) {
        self.features = features
        self.stepsPerCheckpoint = stepsPerCheckpoint
        workload = SyntheticSAE(features: features, seed: seed, dyingBetween: startStep...(startStep + 20_000))
        let base = workload.firings(batch: 4096, batches: Int(startStep), step: 0)
        state = try! DensityState(features: features, components: nil, counts: base, vectors: 4096 * startStep)
        step = startStep
        increments = (0..<8).map { salt in
            workload.firings(batch: 4096, batches: stepsPerCheckpoint, step: startStep, salt: UInt64(salt))
        }
    }

    /// Advances by one checkpoint and returns the new cumulative state.
    mutating func next() -> DensityState {
        step += Int64(stepsPerCheckpoint)
        let increment = increments[index % increments.count]
        index += 1
        var counts = state.counts
        for f in 0..<features where workload.deathStep[f] > step {
            counts[f] += increment[f]
        }
        state = try! DensityState(features: features, components: nil, counts: counts,
                                  vectors: state.vectors + 4096 * Int64(stepsPerCheckpoint))
        return state
    }
}

/// The bytes a store's file uses for data: (page_count - freelist_count) x page_size, WAL included.
func usedBytes(_ path: String) -> Int64 {
    let db = try! Connection(path: path, mode: .readOnly)
    let pages = try! db.queryFirst("PRAGMA page_count") { $0.int64(0) }!
    let free = try! db.queryFirst("PRAGMA freelist_count") { $0.int64(0) }!
    let size = try! db.queryFirst("PRAGMA page_size") { $0.int64(0) }!
    return (pages - free) * size
}

/// The bytes of every chunk blob of a run.
func blobBytes(_ path: String) -> Int64 {
    let db = try! Connection(path: path, mode: .readOnly)
    return try! db.queryFirst("SELECT coalesce(sum(length(data)), 0) FROM chunks") { $0.int64(0) }!
}
