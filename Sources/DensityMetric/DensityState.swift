/// The exact state of the feature density metric: how many activation vectors were seen, and on
/// how many of them each (component, feature) fired.
///
/// This is torchmetrics' `FeatureDensityMetric` state (`num_activation_vectors`,
/// `neuron_fired_count`), with exact 64-bit counts instead of float32.
public struct DensityState: Sendable, Hashable, Codable {
    /// The number of learned features (the last axis).
    public let features: Int
    /// The number of components, or `nil` when the activations have no component axis.
    public let components: Int?
    /// `neuron_fired_count`, row-major `[components ?? 1][features]`.
    public internal(set) var counts: [Int64]
    /// `num_activation_vectors`: how many activation vectors were seen.
    public internal(set) var vectors: Int64
    /// How many NaN, +inf and -inf activations were seen (they never change whether a value fired
    /// beyond the rule `value > threshold`; a non-zero count warns of a diverging run).
    public internal(set) var nonFinite: Int64

    /// The empty state of a metric of this width.
    /// - Parameters:
    ///   - features: The number of learned features, positive.
    ///   - components: The number of components, positive, or `nil`.
    /// - Throws: ``DensityError/nonPositiveSize(name:value:)``.
    public init(features: Int, components: Int? = nil) throws {
        try Self.validate(features: features, components: components)
        self.features = features
        self.components = components
        self.counts = Array(repeating: 0, count: (components ?? 1) * features)
        self.vectors = 0
        self.nonFinite = 0
    }

    /// A state from stored values, checked for consistency.
    /// - Parameters:
    ///   - features: The number of learned features.
    ///   - components: The number of components, or `nil`.
    ///   - counts: Row-major `[components ?? 1][features]` counts, each in `0...vectors`.
    ///   - vectors: The number of vectors seen.
    ///   - nonFinite: The number of non-finite activations seen.
    /// - Throws: ``DensityError`` when a size is wrong or a count is negative or above `vectors`.
    public init(features: Int, components: Int?, counts: [Int64], vectors: Int64, nonFinite: Int64 = 0) throws {
        try self.init(features: features, components: components, counts: counts, vectors: vectors, nonFinite: nonFinite,
                      largestCount: counts.withUnsafeBufferPointer(Self.largestCount))
    }

    /// A state whose counts' ``largestCount(_:)`` the caller already has, from a pass of its own
    /// (a reader takes it from each piece of counts as it arrives): checked as
    /// ``init(features:components:counts:vectors:nonFinite:)`` checks, without reading the counts
    /// again unless one is out of range, to name it.
    /// - Parameter largestCount: ``largestCount(_:)`` of `counts`.
    package init(features: Int, components: Int?, counts: [Int64], vectors: Int64, nonFinite: Int64, largestCount: UInt64)
        throws
    {
        try Self.validate(features: features, components: components)
        let expected = (components ?? 1) * features
        guard counts.count == expected else {
            throw DensityError.bufferSizeMismatch(
                shape: components.map { [$0, features] } ?? [features], expected: expected, actual: counts.count)
        }
        guard vectors >= 0, nonFinite >= 0 else {
            throw DensityError.countsDecreased(detail: "vectors (\(vectors)) and non-finite (\(nonFinite)) must be >= 0")
        }
        if largestCount > UInt64(vectors), let problem = counts.withUnsafeBufferPointer({
            Self.rangeProblem($0, at: 0, vectors: vectors, features: features, components: components)
        }) {
            throw problem
        }
        self.features = features
        self.components = components
        self.counts = counts
        self.vectors = vectors
        self.nonFinite = nonFinite
    }

    private enum CodingKeys: String, CodingKey {
        case features, components, counts, vectors, nonFinite
    }

    /// Decodes a state and checks it as ``init(features:components:counts:vectors:nonFinite:)`` does.
    /// - Parameter decoder: The decoder.
    /// - Throws: A decoding error, or ``DensityError`` when the values are inconsistent.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            features: container.decode(Int.self, forKey: .features),
            components: container.decodeIfPresent(Int.self, forKey: .components),
            counts: container.decode([Int64].self, forKey: .counts),
            vectors: container.decode(Int64.self, forKey: .vectors),
            nonFinite: container.decode(Int64.self, forKey: .nonFinite))
    }

    /// The shape of ``counts``: `[features]` or `[components, features]`.
    public var shape: [Int] { components.map { [$0, features] } ?? [features] }

    /// The count of one (component, feature), 0-based.
    /// - Parameters:
    ///   - feature: The feature index.
    ///   - component: The component index; 0 when the metric has none.
    public func count(feature: Int, component: Int = 0) -> Int64 {
        counts[component * features + feature]
    }

    /// `compute()`: every count divided by ``vectors``, as float64, row-major like ``counts``.
    ///
    /// With no vectors seen every density is NaN (0/0), as in the reference.
    public func densities() -> [Double] {
        counts.map { Self.density(count: $0, vectors: vectors) }
    }

    /// A density: `count / vectors` as float64 (NaN for 0/0), the one division every view of a
    /// count makes.
    /// - Parameters:
    ///   - count: A feature's count (in a window, or since the start).
    ///   - vectors: The activation vectors the count is over.
    /// - Returns: The density.
    public static func density(count: Int64, vectors: Int64) -> Double {
        Double(count) / Double(vectors)
    }

    /// The sum of every count: the number of (vector, component, feature) firings, exact.
    public var firedTotal: Int128 { counts.reduce(0) { $0 + Int128($1) } }

    /// Whether `other` has the same width.
    public func hasSameShape(as other: DensityState) -> Bool {
        features == other.features && components == other.components
    }

    /// The sum of two states, as a distributed reduction (`dist_reduce_fx="sum"`) computes it.
    /// - Parameter other: A state of the same width.
    /// - Returns: The merged state.
    /// - Throws: ``DensityError/incompatibleStates(expected:actual:)`` or
    ///   ``DensityError/countOverflow(detail:)``.
    public func merged(with other: DensityState) throws -> DensityState {
        try requireSameShape(other)
        var result = self
        result.vectors = try Self.add(vectors, other.vectors, "vectors")
        result.nonFinite = try Self.add(nonFinite, other.nonFinite, "non-finite count")
        for i in result.counts.indices {
            result.counts[i] = try Self.add(counts[i], other.counts[i], "count")
        }
        return result
    }

    /// The window between an earlier state and this one: counts and vectors over (earlier, self].
    /// - Parameter earlier: A state of the same run at an earlier step.
    /// - Returns: The difference, a valid state whose densities are the window's densities.
    /// - Throws: ``DensityError/countsDecreased(detail:)`` or ``DensityError/countGrewPastVectors(detail:)``
    ///   when `self` does not follow `earlier` (see ``requireFollows(_:)``).
    public func subtracting(_ earlier: DensityState) throws -> DensityState {
        try requireFollows(earlier)
        var result = self
        result.vectors = vectors - earlier.vectors
        result.nonFinite = nonFinite - earlier.nonFinite
        for i in counts.indices { result.counts[i] = counts[i] - earlier.counts[i] }
        return result
    }

    /// Checks that this state can follow `earlier` in one run: no value is below `earlier`'s
    /// (counts only grow), and no count grew by more than the vectors did (a feature fires at most
    /// once per activation vector), so every density over the window between them is in [0, 1].
    /// - Parameter earlier: The state this one follows.
    /// - Throws: ``DensityError/countsDecreased(detail:)`` naming the first value that decreased,
    ///   ``DensityError/countGrewPastVectors(detail:)`` naming the first count that outgrew the vectors.
    public func requireFollows(_ earlier: DensityState) throws {
        try requireSameShape(earlier)
        if let problem = Self.totalsProblem(vectors: (earlier.vectors, vectors), nonFinite: (earlier.nonFinite, nonFinite)) {
            throw problem
        }
        let problem = counts.withUnsafeBufferPointer { later in
            earlier.counts.withUnsafeBufferPointer { earlierCounts in
                Self.followProblem(later, after: earlierCounts, at: 0, vectors: (earlier.vectors, vectors),
                                   features: features, components: components)
            }
        }
        if let problem { throw problem }
    }

    /// Why a state's vectors and non-finite count cannot follow an earlier state's (either
    /// decreased), or `nil`: the first check of ``requireFollows(_:)``, before any count.
    /// - Parameters:
    ///   - vectors: The earlier and the later vectors.
    ///   - nonFinite: The earlier and the later non-finite counts.
    /// - Returns: ``DensityError/countsDecreased(detail:)``.
    package static func totalsProblem(vectors: (earlier: Int64, later: Int64),
                                      nonFinite: (earlier: Int64, later: Int64)) -> DensityError? {
        if vectors.later < vectors.earlier {
            return DensityError.countsDecreased(detail: "vectors went from \(vectors.earlier) to \(vectors.later)")
        }
        if nonFinite.later < nonFinite.earlier {
            return DensityError.countsDecreased(
                detail: "the non-finite count went from \(nonFinite.earlier) to \(nonFinite.later)")
        }
        return nil
    }

    /// Why a piece of a state's counts cannot be counts after `vectors` activation vectors (a count
    /// below 0 or above the vectors), or `nil`: the check of ``init(features:components:counts:vectors:nonFinite:)``,
    /// for a whole state or one chunk of it.
    /// - Parameters:
    ///   - counts: The counts of the piece.
    ///   - start: The flat index of the piece's first count, which errors name.
    ///   - vectors: The vectors seen.
    ///   - features: Features per component.
    ///   - components: Components, or `nil`.
    /// - Returns: ``DensityError/incompatibleStates(expected:actual:)`` naming the first bad count.
    package static func rangeProblem(_ counts: UnsafeBufferPointer<Int64>, at start: Int, vectors: Int64,
                                     features: Int, components: Int?) -> DensityError? {
        guard let bad = firstOutOfRange(counts, upTo: vectors) else { return nil }
        return DensityError.incompatibleStates(
            expected: "every count in 0...\(vectors) (the vectors seen)",
            actual: "count \(counts[bad]) at \(describeIndex(start + bad, features: features, components: components))")
    }

    /// The largest of some counts, a negative one reading as larger than any count (its bit
    /// pattern as `UInt64`): the counts all lie in `0...limit` exactly when this is at most
    /// `limit`. The one range check of counts: a pass of compares, which a reader can run on each
    /// piece of counts as it arrives, while the piece is in cache.
    /// - Parameter counts: The counts.
    /// - Returns: The largest count as `UInt64`, 0 when there are none.
    package static func largestCount(_ counts: UnsafeBufferPointer<Int64>) -> UInt64 {
        // Four running maxima, so that each compare waits on the one four counts back.
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var i = 0
        while i + 4 <= counts.count {
            lanes.0 = max(lanes.0, UInt64(bitPattern: counts[i]))
            lanes.1 = max(lanes.1, UInt64(bitPattern: counts[i + 1]))
            lanes.2 = max(lanes.2, UInt64(bitPattern: counts[i + 2]))
            lanes.3 = max(lanes.3, UInt64(bitPattern: counts[i + 3]))
            i += 4
        }
        while i < counts.count {
            lanes.0 = max(lanes.0, UInt64(bitPattern: counts[i]))
            i += 1
        }
        return max(max(lanes.0, lanes.1), max(lanes.2, lanes.3))
    }

    /// The index of the first count outside `0...limit`, or `nil`: ``largestCount(_:)`` answers
    /// for a valid piece, and only a bad one is searched for the count to name.
    /// - Parameters:
    ///   - counts: The counts.
    ///   - limit: The largest count allowed, at least 0.
    /// - Returns: The first index whose count is below 0 or above `limit`.
    package static func firstOutOfRange(_ counts: UnsafeBufferPointer<Int64>, upTo limit: Int64) -> Int? {
        guard largestCount(counts) > UInt64(limit) else { return nil }
        return counts.firstIndex { $0 < 0 || $0 > limit }
    }

    /// Why a piece of a state's counts cannot follow the same piece of an earlier state (the count
    /// checks of ``requireFollows(_:)``), or `nil`. Within the piece, a decrease is named before a
    /// count that grew past the vectors: it is the likelier mistake (a per-window state).
    /// - Parameters:
    ///   - later: The later state's counts of the piece.
    ///   - earlier: The earlier state's counts of the piece.
    ///   - start: The flat index of the piece's first count, which errors name.
    ///   - vectors: The earlier and the later state's vectors.
    ///   - features: Features per component.
    ///   - components: Components, or `nil`.
    /// - Returns: ``DensityError/countsDecreased(detail:)`` or ``DensityError/countGrewPastVectors(detail:)``.
    package static func followProblem(_ later: UnsafeBufferPointer<Int64>, after earlier: UnsafeBufferPointer<Int64>,
                                      at start: Int, vectors: (earlier: Int64, later: Int64),
                                      features: Int, components: Int?) -> DensityError? {
        let added = vectors.later - vectors.earlier
        guard let bad = later.indices.first(where: { later[$0] < earlier[$0] || later[$0] - earlier[$0] > added })
        else { return nil }
        if let i = later.indices.first(where: { later[$0] < earlier[$0] }) {
            return DensityError.countsDecreased(detail:
                "the count at \(describeIndex(start + i, features: features, components: components)) went from \(earlier[i]) to \(later[i])")
        }
        return DensityError.countGrewPastVectors(detail: describeGrowth(
            at: describeIndex(start + bad, features: features, components: components), from: earlier[bad], to: later[bad],
            vectorsFrom: vectors.earlier, vectorsTo: vectors.later))
    }

    /// "the count at X grew by D (a to b) but the vectors grew by V (p to q)": one wording for the
    /// writers' refusal and `verify`'s report.
    public static func describeGrowth(at: String, from: Int64, to: Int64, vectorsFrom: Int64, vectorsTo: Int64) -> String {
        "the count at \(at) grew by \(to - from) (\(from) to \(to)) while the vectors grew by \(vectorsTo - vectorsFrom) (\(vectorsFrom) to \(vectorsTo))"
    }

    func requireSameShape(_ other: DensityState) throws {
        guard hasSameShape(as: other) else {
            throw DensityError.incompatibleStates(expected: describeShape, actual: other.describeShape)
        }
    }

    /// The width in words: "features=F" or "components=C, features=F".
    public var describeShape: String {
        components.map { "components=\($0), features=\(features)" } ?? "features=\(features), no components"
    }

    static func validate(features: Int, components: Int?) throws {
        guard features > 0 else { throw DensityError.nonPositiveSize(name: "features", value: features) }
        if let components, components <= 0 {
            throw DensityError.nonPositiveSize(name: "components", value: components)
        }
        let (_, overflow) = (components ?? 1).multipliedReportingOverflow(by: features)
        if overflow { throw DensityError.countOverflow(detail: "components x features is too large") }
    }

    /// A flat index in words: "feature F" or "component C, feature F".
    public static func describeIndex(_ flat: Int, features: Int, components: Int?) -> String {
        components == nil ? "feature \(flat)" : "component \(flat / features), feature \(flat % features)"
    }

    static func add(_ a: Int64, _ b: Int64, _ what: String) throws -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw DensityError.countOverflow(detail: "\(what) \(a) + \(b) passes Int64.max") }
        return sum
    }
}
