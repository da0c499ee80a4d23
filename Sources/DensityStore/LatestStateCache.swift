internal import DensityMetric

/// The state of the last checkpoint this store wrote, so the next checkpoint of the same run can
/// be checked (counts only grow) and delta-encoded without decoding the previous one.
///
/// Trusted only after checking, under the write lock, that the run's latest checkpoint is still
/// this one: same id, step and vectors, and the same chunk checksums.
struct LatestStateCache: Sendable {
    let runID: Int64
    let checkpoint: Checkpoint
    let checksums: [Int64]
    let state: DensityState
}
