/// Why a store's mirror could not be written, or a mirror was refused for writing.
public enum MirrorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The mirror folder does not exist or is not a folder.
    case noFolder(path: String)
    /// A file that is not a mirror sits where the mirror would go; it is never replaced.
    case notAMirror(path: String)
    /// The mirror's place holds the mirror of another store (another host or path).
    case mirrorOfAnotherStore(path: String, source: String, wanted: String)
    /// A mirror was opened for writing; mirrors are snapshots, written only by their recorder.
    case writeToMirror(path: String, source: String)
    /// Writing the snapshot failed; the previous mirror, if any, is unchanged.
    case snapshotFailed(path: String, reason: String)

    /// A one-line account of the problem and its fix.
    public var description: String {
        switch self {
        case let .noFolder(path):
            return "the mirror folder '\(path)' does not exist or is not a folder; create it (mkdir -p '\(path)') or pass another --mirror"
        case let .notAMirror(path):
            return "'\(path)' exists and is not a store mirror, so it is not replaced; move it away or mirror into another folder (--mirror DIR)"
        case let .mirrorOfAnotherStore(path, source, wanted):
            return "'\(path)' is the mirror of \(source), not of \(wanted); give each job's store its own file name (e.g. --db \"$TMPDIR/run-$SLURM_ARRAY_TASK_ID.sqlite\") or mirror into another folder"
        case let .writeToMirror(path, source):
            return "'\(path)' is a mirror (a read-only snapshot of \(source)), replaced by its recorder: write to the store it mirrors, or copy the mirror elsewhere first"
        case let .snapshotFailed(path, reason):
            return "could not write the mirror '\(path)' (\(reason)); the previous mirror, if any, is unchanged"
        }
    }
}
