public import DensityMetric

/// The CSV rows of counts and densities, `[component,]feature,count,density`: what `export` and
/// `diff` print for every feature, a chunk of features at a time.
package enum CountRows {
    /// The header line, `component` first for runs with components.
    package static func header(hasComponents: Bool) -> String {
        hasComponents ? "component,feature,count,density\n" : "feature,count,density\n"
    }

    /// The rows of `counts`, the first at flat index `start` (`component * features + feature`).
    /// - Parameters:
    ///   - counts: Consecutive counts.
    ///   - start: The flat index of the first.
    ///   - features: The run's features per component.
    ///   - hasComponents: Whether the run has components (a column of its own).
    ///   - vectors: The vectors the counts are over.
    package static func rows<C: Collection<Int64>>(_ counts: C, start: Int, features: Int, hasComponents: Bool,
                                                   vectors: Int64) -> String {
        var text = ""
        for (offset, count) in counts.enumerated() {
            let index = start + offset
            if hasComponents { text += "\(index / features)," }
            text += "\(index % features),\(count),\(DensityState.density(count: count, vectors: vectors))\n"
        }
        return text
    }
}
