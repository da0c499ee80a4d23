import ArgumentParser
import DensityStore
import Foundation

/// `--db PATH`: which store file a command uses.
struct StoreOptions: ParsableArguments {
    // An array, so that the read commands (``openSeveral()``, ``openRun(_:)``) get every value;
    // the commands that write or check one store take one.
    @Option(
        name: .customLong("db"),
        help: ArgumentHelp(
            "The store file. Default: $DENSITY_DB if set, else ./density.sqlite. Read commands take it repeated, or a quoted glob ('mirrors/*.sqlite'), and find the run in whichever store holds it.",
            valueName: "path"))
    var paths: [String] = []

    /// `--db`, when given (once: ``requireOne()`` refuses more).
    var db: String? { paths.last }

    /// Refuses several `--db` (naming different files) for a command that writes or checks one store.
    /// - Throws: ``CLIError`` naming the commands that read several.
    func requireOne() throws {
        let distinct = Set(paths.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        guard distinct.count <= 1 else {
            throw CLIError("--db is given \(distinct.count) times, and this command writes or checks one store: give it once. The read commands (runs, compare, show, trend, dead, …) take several (a quoted glob works: --db 'mirrors/*.sqlite')")
        }
    }

    /// The path in effect: `--db`, else `$DENSITY_DB`, else `density.sqlite`.
    var path: String {
        if let db { return db }
        if let env = ProcessInfo.processInfo.environment["DENSITY_DB"], !env.isEmpty { return env }
        return "density.sqlite"
    }

    /// Opens the store for writing, creating and migrating it when needed.
    /// - Throws: ``CLIError`` when the store's folder does not exist; the store's errors.
    func openForWriting() throws -> DensityStore {
        try requireOne()
        try ExportTarget.checkFolder(of: path, option: db == nil ? "the store" : "--db")
        return try DensityStore(path: path)
    }

    /// Opens the store read-only, for queries: never writes, never blocks a writer.
    func openForReading() throws -> DensityStore {
        try requireOne()
        return try Self.openForReading(at: path)
    }

    /// Opens the store at `path` read-only, with a clear error when there is none.
    static func openForReading(at path: String) throws -> DensityStore {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        guard FileManager.default.fileExists(atPath: path), size != 0 else {
            throw CLIError("no store at '\(path)': create a run first with `density create RUN --features F`, run `density demo`, or pass --db PATH (or set DENSITY_DB)")
        }
        do {
            return try DensityStore(path: path, readOnly: true)
        } catch StoreError.storageFailed(_, .readOnly, _) {
            // A WAL store is read through its -shm file; a reader that may not create it cannot open the store.
            throw CLIError("cannot read '\(path)': SQLite needs the store's -shm file beside it, which is missing and cannot be created because its folder is not writable for you. It exists while a writer has the store open; otherwise copy the store to a folder you can write, or ask its owner to make the folder writable. Nothing was changed")
        }
    }
}
