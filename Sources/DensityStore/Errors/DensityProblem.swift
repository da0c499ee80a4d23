/// The one shape of every error the library throws: what was wrong, how to fix it, and what kind
/// of failure it is, so that a front end words or maps it without matching cases (or SQLite codes).
///
/// ``description`` is ``problem``, then ``remedy`` where there is one; the words are the library's
/// (paths, runs, steps, settings), and a front end that names its own flags words the fix itself.
public protocol DensityProblem: Error, Sendable, CustomStringConvertible {
    /// What was wrong, with which value: the description without its fix.
    var problem: String { get }
    /// How to fix it, where the fix is not already part of ``problem``.
    var remedy: String? { get }
    /// What kind of failure this is.
    var kind: ProblemKind { get }
}

extension DensityProblem {
    /// ``problem``, then ``remedy`` where there is one.
    public var description: String {
        remedy.map { "\(problem); \($0)" } ?? problem
    }
}

/// What kind of failure a ``DensityProblem`` is: who is at fault and whether trying again helps.
public enum ProblemKind: String, Sendable, Hashable, CaseIterable {
    /// What was asked for does not exist (a run, or any checkpoint of it yet).
    case notFound
    /// An argument or input is not valid; the same request always fails.
    case invalidInput
    /// The request contradicts what is stored (a step already there, another writer).
    case conflict
    /// The store is busy (locked, being created or changed); trying again shortly may succeed.
    case busy
    /// What is stored is damaged: a check of the store found what no valid store holds.
    case damaged
    /// The store cannot be used now: disk full, read-only, permissions, I/O.
    case unavailable
    /// A failure of the library itself.
    case `internal`
}
