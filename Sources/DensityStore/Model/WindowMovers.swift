public import DensityMetric

/// The features whose window density rose or fell most from the previous window
/// (``StepWindow/previous(in:)``) to a window: what `diff`, `report` and `watch` list.
///
/// Found in one pass over the windows' chunks (``DensityStore/movers(run:window:top:recentlyDead:)``):
/// it holds the ranked features and the window's summary, never a whole state.
public struct WindowMovers: Sendable {
    /// One feature's density in both windows.
    public struct Change: Sendable, Hashable {
        /// The flat index, `component * features + feature`.
        public let index: Int
        /// The density in the previous window.
        public let before: Double
        /// The density in the window.
        public let now: Double
        /// `now - before`.
        public var change: Double { now - before }
    }

    /// A feature dead in the window (count 0) that fired before it.
    public struct RecentlyDead: Sendable, Hashable {
        /// The flat index, `component * features + feature`.
        public let index: Int
        /// The checkpoint step at which its count last rose.
        public let lastRose: Int64
    }

    /// The window and its vectors.
    public let window: WindowBounds
    /// The previous window; `nil` when the window starts at the start of the run.
    public let previous: WindowBounds?
    /// The window's summary (its counts over its vectors): mean density, dead and dense features,
    /// and the histogram of ``DensitySummary/storedBins`` bins unless asked otherwise.
    public let summary: DensitySummary
    /// Up to `top` features whose density rose, the largest rise first (ties by index); empty
    /// when there is no previous window or it holds no vectors.
    public let risers: [Change]
    /// Up to `top` features whose density fell, the largest fall first (ties by the larger index).
    public let fallers: [Change]
    /// Up to the number asked for of the features dead in the window that fired before it, the
    /// latest to last rise first (ties by index); empty when none was asked for or the window
    /// starts at the start of the run.
    public let recentlyDead: [RecentlyDead]

    /// Ranks features by their change of density, chunk by chunk, keeping only the best `top` of
    /// each side: the one ranking of risers and fallers.
    struct Ranking {
        /// How many of each to keep.
        let top: Int
        /// Rises, the largest first, ties by index.
        private(set) var risers: [Change] = []
        /// Falls, the largest first, ties by the larger index (the rises' order reversed).
        private(set) var fallers: [Change] = []

        init(top: Int) { self.top = max(0, top) }

        /// Whether `a` ranks above `b` among the risers: the larger change, then the smaller index.
        static func rises(_ a: Change, before b: Change) -> Bool {
            a.change != b.change ? a.change > b.change : a.index < b.index
        }

        /// Adds `count` features from flat index `start`; `density(i)` gives the i-th one's density
        /// (now, before).
        mutating func add(start: Int, count: Int, density: (Int) -> (now: Double, before: Double)) {
            guard top > 0 else { return }
            var rising: [Change] = [], falling: [Change] = []
            for i in 0..<count {
                let (now, before) = density(i)
                let change = Change(index: start + i, before: before, now: now)
                if change.change > 0, risers.count < top || Self.rises(change, before: risers[risers.count - 1]) {
                    rising.append(change)
                } else if change.change < 0, fallers.count < top || Self.rises(fallers[fallers.count - 1], before: change) {
                    falling.append(change)
                }
            }
            if !rising.isEmpty { risers = Array((risers + rising).sorted(by: Self.rises).prefix(top)) }
            if !falling.isEmpty { fallers = Array((fallers + falling).sorted { Self.rises($1, before: $0) }.prefix(top)) }
        }
    }
}
