internal import DensityMetric

/// The features whose window density rose or fell most from the previous window
/// (``StepWindow/previous(in:)``) to a window: what `diff`, `report` and `watch` list.
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

    /// The window's counts.
    public let window: DensityWindow
    /// The previous window's counts; `nil` when the window starts at the start of the run.
    public let previous: DensityWindow?
    /// Up to `top` features whose density rose, the largest rise first (ties by index); empty
    /// when there is no previous window or it holds no vectors.
    public let risers: [Change]
    /// Up to `top` features whose density fell, the largest fall first (ties by index).
    public let fallers: [Change]

    /// Ranks the features of two windows by their change of density, once for every caller.
    static func rank(window: DensityWindow, previous: DensityWindow?, top: Int) -> WindowMovers {
        guard let previous, previous.state.vectors > 0, window.state.vectors > 0, top > 0 else {
            return WindowMovers(window: window, previous: previous, risers: [], fallers: [])
        }
        let now = window.densities(), before = previous.densities()
        let change = now.indices.map { now[$0] - before[$0] }
        let order = change.indices.sorted { change[$0] != change[$1] ? change[$0] > change[$1] : $0 < $1 }
        let item = { (index: Int) in Change(index: index, before: before[index], now: now[index]) }
        return WindowMovers(window: window, previous: previous,
                            risers: order.prefix(top).filter { change[$0] > 0 }.map(item),
                            fallers: order.reversed().prefix(top).filter { change[$0] < 0 }.map(item))
    }
}
