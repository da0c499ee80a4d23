package import DensityStore

/// A component choice does not fit the run: none given on a run with components, or one given on
/// a run without. The cases carry the data; ``description`` says it without naming a flag or a
/// request parameter (a front end names where the choice came from).
package enum ComponentError: DensityProblem, Hashable {
    /// A component was given for a run without components.
    case noComponents(run: String)
    /// None was given for a run with `components` components; `why` says why one is needed.
    case componentRequired(run: String, components: Int, why: String)

    /// What was wrong: the description without its fix.
    package var problem: String {
        switch self {
        case let .noComponents(run): "run '\(run)' has no components"
        case let .componentRequired(run, components, why): "run '\(run)' has \(components) components; \(why)"
        }
    }

    /// Always the request's fault.
    package var kind: ProblemKind { .invalidInput }

    /// How to fix it, in no front end's words.
    package var remedy: String? {
        switch self {
        case .noComponents: "give no component"
        case let .componentRequired(_, components, _): "choose component 0 to \(components - 1)"
        }
    }

    /// The account of the problem and its fix.
    package var description: String {
        switch self {
        case .noComponents: "\(problem); give no component"
        case let .componentRequired(_, components, _): "\(problem): choose component 0 to \(components - 1)"
        }
    }
}
