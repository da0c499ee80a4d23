/// A run that exists but holds no complete checkpoint yet: nothing stored, or only steps still
/// waiting for some ranks. The command exits with ``DensityCommand/noCheckpointExitCode``, so that
/// a script (the Python package's `load_state`) can start from scratch on this and on nothing else.
struct NoCheckpointYet: Error, CustomStringConvertible {
    /// What to print: why there is no checkpoint, and how to add one.
    let description: String
}
