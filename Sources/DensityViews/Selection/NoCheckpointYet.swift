/// A run that exists but holds no complete checkpoint yet: nothing stored, or only steps still
/// waiting for some ranks. The CLI exits with `DensityCommand.noCheckpointExitCode` on it, so that
/// a script (the Python package's `load_state`) can start from scratch on this and on nothing
/// else; the web UI answers it with 404.
package struct NoCheckpointYet: Error, Sendable, CustomStringConvertible {
    /// What to print: why there is no checkpoint, and how to add one.
    package let description: String

    /// An error with this message.
    package init(_ description: String) { self.description = description }
}
