import ArgumentParser
import DensityStore

/// `--mirror DIR [--mirror-every SECONDS]`: keep a snapshot of the store in a (shared) folder.
struct MirrorOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Also keep a snapshot of the store in this folder (it may be on NFS or Lustre), as DIR/<the store's file name>, replaced every --mirror-every seconds and at the end.",
        valueName: "dir"))
    var mirror: String?

    @Option(help: ArgumentHelp("Seconds between mirror snapshots (default 60).", valueName: "seconds"))
    var mirrorEvery: Double = 60

    func validate() throws {
        guard mirrorEvery.isFinite, mirrorEvery > 0, mirrorEvery <= 86_400 * 365 else {
            throw ValidationError("--mirror-every must be a number of seconds above 0, got \(mirrorEvery)")
        }
        if mirror == nil, mirrorEvery != 60 {
            throw ValidationError("--mirror-every needs --mirror DIR, the folder to keep the snapshot in")
        }
    }

    /// Starts mirroring the store at `path`, or returns `nil` without `--mirror`. Each failed
    /// snapshot is reported on stderr; the recording goes on.
    /// - Throws: ``MirrorError`` when the folder is missing or the mirror's place is taken.
    func start(storePath path: String) throws -> MirrorSchedule? {
        guard let mirror else { return nil }
        let target = try StoreMirror(source: path, folder: mirror)
        return MirrorSchedule(target, every: .milliseconds(Int64(mirrorEvery * 1000))) { error in
            Console.message("warning: \(ErrorText.render(error)); the next snapshot is tried in \(Console.format(mirrorEvery)) s")
        }
    }
}
