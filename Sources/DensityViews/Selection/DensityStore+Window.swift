package import DensityStore

extension DensityStore {
    /// The bounds of `--window A:B` (or `--from A --to B`) or `--last-vectors N` as steps for the
    /// store's queries (`to: nil` is the latest checkpoint), and how they were chosen, for a
    /// heading; the whole run, (start, latest], when neither is given. `dead`, `dense` and the
    /// web UI's `/dead` resolve windows with it.
    /// - Parameters:
    ///   - run: The run's name.
    ///   - window: The window as written.
    ///   - lastVectors: Instead: the shortest window ending at the latest checkpoint holding this many vectors.
    /// - Throws: ``SelectionError`` when A does not resolve before B; the store's errors for an
    ///   unknown run, a run without checkpoints, or a step before the first checkpoint.
    package func resolveWindow(run: String, window: WindowSpec?, lastVectors: Int64?) throws -> (from: Int64?, to: Int64?, how: String) {
        let steps = try checkpointSteps(run: run)  // says why a run has none
        if let lastVectors {
            let window = try recentWindow(run: run, holding: lastVectors)
            return (window.from, window.to, "the shortest window ending at the latest checkpoint with >= \(lastVectors) vectors")
        }
        guard let window else { return (nil, nil, "the whole run") }
        let end = try window.to.resolve(in: steps, run: run)!
        let start = try window.from.resolve(in: steps, run: run)
        let resolved = [(window.from, start), (window.to, end)].compactMap { spec, step in
            step.flatMap { step in spec == .exact(step) ? nil : "\(spec) -> step \(step)" }
        }
        let how = "--window \(window)" + (resolved.isEmpty ? "" : ": " + resolved.joined(separator: ", "))
        if let start, start >= end {
            let detail = resolved.isEmpty ? "" : " (" + resolved.joined(separator: ", ") + ")"
            throw SelectionError("--window \(window): A must be before B, but they resolve to checkpoints \(start) and \(end)\(detail); choose an earlier A or a later B")
        }
        return (start, end, how)
    }
}
