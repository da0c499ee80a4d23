import DensityStore

/// A (component, feature) pair in a listing of `dead` or `dense`: its key columns, `component`
/// (on a run with components) then `feature`, come first in every format.
protocol ListedFeature {
    /// The component; `nil` on a run without components.
    var component: Int? { get }
    /// The feature, 0-based.
    var feature: Int { get }
}

extension ListedFeature {
    /// The key columns' names: `component` on a run with components, then `feature`.
    static func keyColumns(components: Bool) -> [String] {
        (components ? ["component"] : []) + ["feature"]
    }

    /// This pair's key columns.
    var key: [String] {
        (component.map { [String($0)] } ?? []) + [String(feature)]
    }

    /// What a listing counts: "(component, feature) pairs" on a run with components, else "features".
    static func noun(components: Bool) -> String {
        components ? "(component, feature) pairs" : "features"
    }
}

extension DeadFeature: ListedFeature {}
extension DenseFeature: ListedFeature {}
