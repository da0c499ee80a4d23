/// `--component` (the `component` parameter) does not fit the run: missing on a run with
/// components, given on a run without.
package struct ComponentError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The account of the problem and its fix.
    package let description: String

    package init(_ description: String) { self.description = description }
}
