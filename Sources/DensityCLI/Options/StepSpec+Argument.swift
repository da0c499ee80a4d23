import ArgumentParser
import DensityViews

/// `--step`, `--from`, `--to` parse a ``StepSpec`` as written (its `init?(argument:)`).
extension StepSpec: ExpressibleByArgument {
    static var defaultCompletionKind: CompletionKind { .list(["latest", "first", "start"]) }
}
