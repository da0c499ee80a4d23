internal import DensityMetric

/// The state of the last checkpoint this store wrote, so the next checkpoint of the same run can
/// be checked (counts only grow) and delta-encoded without decoding the previous one.
///
/// Trusted only after checking, under the write lock, that the run's latest checkpoint is still
/// this one (same id, step and vectors) and that no other connection has committed to the store
/// since it was written (the same `PRAGMA data_version`), so its blobs are the ones written. Any
/// other write, a repair through SQL included, sends the next checkpoint down the path that reads
/// the previous one back and names any damage.
struct LatestStateCache: Sendable {
    let runID: Int64
    let checkpoint: Checkpoint
    /// The writing connection's data version inside the transaction that wrote the checkpoint.
    let dataVersion: Int64
    let state: DensityState

    /// Whether nothing but this connection has committed since the checkpoint was written.
    func isCurrent(_ db: Connection) throws -> Bool {
        try DensityStore.dataVersion(db) == dataVersion
    }
}
