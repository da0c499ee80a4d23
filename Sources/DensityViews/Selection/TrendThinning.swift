package import DensityStore

/// Which points of a feature's trend are kept, and the density between them: `density trend
/// --every K | --points N` and the web UI's trend box, from the same code.
package enum TrendThinning {
    /// The indexes kept out of `count` points: all, every K-th, or about N evenly spaced; the first
    /// and the last always.
    /// - Parameters:
    ///   - count: How many points there are.
    ///   - every: Keep every K-th.
    ///   - points: Keep about N evenly spaced.
    /// - Returns: Ascending indexes, without repeats.
    package static func thin(_ count: Int, every: Int?, points: Int?) -> [Int] {
        var indexes: [Int]
        if let every {
            indexes = Array(stride(from: 0, to: count, by: every))
        } else if let points, points < count {
            indexes = (0..<points).map { ($0 * (count - 1)) / (points - 1) }
        } else {
            indexes = Array(0..<count)
        }
        if indexes.last != count - 1 { indexes.append(count - 1) }
        var seen = Set<Int>()
        return indexes.filter { seen.insert($0).inserted }
    }

    /// The density between consecutive points: (count_b - count_a) / (vectors_b - vectors_a).
    /// - Parameter points: The points kept.
    /// - Returns: One value per point; nil for the first and where no vectors were seen between.
    package static func windowDensities(_ points: [TrendPoint]) -> [Double?] {
        points.indices.map { i in
            guard i > 0 else { return nil }
            let vectors = points[i].vectors - points[i - 1].vectors
            return vectors > 0 ? Double(points[i].count - points[i - 1].count) / Double(vectors) : nil
        }
    }
}
