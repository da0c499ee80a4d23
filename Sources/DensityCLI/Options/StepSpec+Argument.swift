public import ArgumentParser
public import DensityStore

/// A step option (`--step`, `--at`, `--from`, `--to`, `--through`) parses as the library's
/// ``StepSpec``, whose meaning the library alone defines.
extension StepSpec: ExpressibleByArgument {
    /// Parses a step spec (``StepSpec/init(parsing:)``).
    public init?(argument: String) { self.init(parsing: argument) }

    /// Completes the named steps.
    public static var defaultCompletionKind: CompletionKind { .list(["latest", "first", "start"]) }
}
