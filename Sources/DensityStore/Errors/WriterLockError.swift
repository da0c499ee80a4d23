/// Why a run's writer lock (``RunWriterLock``) could not be taken. Nothing was written.
public enum WriterLockError: DensityProblem, Hashable {
    /// Another process, or another store handle in this process, is writing the run.
    case heldByAnotherWriter(run: String, pid: Int32?)
    /// The lock file could not be created or locked.
    case unavailable(path: String, reason: String)

    /// Another writer is a conflict; a lock file that cannot be made leaves the store unavailable.
    public var kind: ProblemKind {
        if case .heldByAnotherWriter = self { return .conflict }
        return .unavailable
    }

    /// How to fix it; the accounts carry their fix in ``problem``.
    public var remedy: String? { nil }

    /// A one-line account of the problem and its fix.
    public var problem: String {
        switch self {
        case let .heldByAnotherWriter(run, pid):
            let who = pid.map { "pid \($0)" } ?? "pid unknown"
            return "run '\(run)' is being written by another process (\(who)); wait for it to finish, or stop it, then run the command again. Nothing was written"
        case let .unavailable(path, reason):
            return "cannot take the run's writer lock in '\(path)' (\(reason)); the store's folder must be writable by whoever writes the store. Nothing was written"
        }
    }
}
