package import DensityMetric
package import DensityStore

/// A checkpoint that had seen no activation vectors: its densities (count / 0) are undefined, so
/// a histogram of them is refused, by `histogram --step` and by the web API alike.
package struct NoDensities: DensityProblem, Hashable {
    /// The run.
    package let run: String
    /// The checkpoint's step.
    package let step: Int64

    /// What was wrong.
    package var problem: String {
        "run '\(run)' had seen no activation vectors at step \(step); its densities are undefined. Choose a later step"
    }

    /// The fix is part of ``problem``.
    package var remedy: String? { nil }

    /// Always the request's fault.
    package var kind: ProblemKind { .invalidInput }

    /// Refuses a state with no vectors.
    /// - Throws: ``NoDensities`` when `state` has seen no vectors.
    package static func require(_ state: DensityState, run: String, step: Int64) throws(NoDensities) {
        guard state.vectors > 0 else { throw NoDensities(run: run, step: step) }
    }
}
