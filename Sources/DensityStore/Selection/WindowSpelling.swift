/// The two spellings of a window (A, B] every front end accepts: `A:B` in one value, or A and B
/// apart (B defaulting to latest), but not both. The one check of them; a front end words a
/// ``Problem`` with the names of its own flags or parameters.
public enum WindowSpelling {
    /// What is wrong with how a window was spelled.
    public enum Problem: Error, Sendable, Hashable {
        /// Both spellings were given.
        case both
        /// B was given without A.
        case endWithoutStart
        /// B is `start`, which names no checkpoint.
        case endIsStart
    }

    /// The window spelled either way, or `nil` when neither was given.
    /// - Parameters:
    ///   - window: `A:B` as one value.
    ///   - from: A alone.
    ///   - to: B alone (with A).
    /// - Returns: The window.
    /// - Throws: ``Problem``.
    public static func window(_ window: WindowSpec?, from: StepSpec?, to: StepSpec?) throws(Problem) -> WindowSpec? {
        if window != nil, from != nil || to != nil { throw .both }
        if to != nil, from == nil { throw .endWithoutStart }
        if to == .start { throw .endIsStart }
        return window ?? from.map { WindowSpec(from: $0, to: to ?? .latest) }
    }
}
