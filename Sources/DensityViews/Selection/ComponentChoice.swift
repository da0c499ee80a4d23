package import DensityStore

/// The one rule for `--component` on commands that read a single component (`trend`,
/// `export --format saelens`): required on a run with components, refused on a run without.
package enum ComponentChoice {
    /// The component to read: 0 for a run without components.
    /// - Parameters:
    ///   - given: `--component`, if given.
    ///   - run: The run.
    ///   - why: Why one component is needed, for the message, e.g. "trend follows one".
    /// - Throws: ``ComponentError`` when `--component` is missing on a run with components (listing
    ///   them) or given on a run without; ``StoreError/indexOutOfRange(run:what:index:size:)``.
    package static func resolve(_ given: Int?, of run: Run, why: String) throws -> Int {
        guard let components = run.components else {
            if given != nil { throw ComponentError.noComponents(run: run.name) }
            return 0
        }
        guard let given else {
            throw ComponentError.componentRequired(run: run.name, components: components, why: why)
        }
        guard (0..<components).contains(given) else {
            throw StoreError.indexOutOfRange(run: run.name, what: "component", index: given, size: components)
        }
        return given
    }
}
