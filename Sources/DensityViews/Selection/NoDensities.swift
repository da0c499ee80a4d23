package import DensityMetric

/// A checkpoint that had seen no activation vectors: its densities (count / 0) are undefined, so
/// a histogram of them is refused, by `histogram --step` and by the web API alike.
package struct NoDensities: Error, Sendable, Hashable, CustomStringConvertible {
    /// The run.
    package let run: String
    /// The checkpoint's step.
    package let step: Int64

    /// The account of the problem and its fix.
    package var description: String {
        "run '\(run)' had seen no activation vectors at step \(step); its densities are undefined. Choose a later step"
    }

    /// Refuses a state with no vectors.
    /// - Throws: ``NoDensities`` when `state` has seen no vectors.
    package static func require(_ state: DensityState, run: String, step: Int64) throws(NoDensities) {
        guard state.vectors > 0 else { throw NoDensities(run: run, step: step) }
    }
}
