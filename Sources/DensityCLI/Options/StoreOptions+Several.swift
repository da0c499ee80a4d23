import ArgumentParser
import DensityStore
import DensityViews
import Foundation

// MARK: - Several stores

/// `--db PATH`, repeated, for the read commands: `runs` and `compare` read every store, the
/// commands about one run read the store holding it; a quoted glob (`--db 'mirrors/*.sqlite'`) is
/// expanded here.
extension StoreOptions {
    /// The paths in effect, globs expanded, each once, in the order given: `--db`, else
    /// `$DENSITY_DB`, else `density.sqlite`.
    /// - Throws: ``CLIError`` for a glob that matches nothing.
    func resolvedPaths() throws -> [String] {
        try StoreNames.expand(paths.isEmpty ? [path] : paths) { pattern in
            throw CLIError("no store matches --db '\(pattern)'; check the folder and the pattern (e.g. --db 'mirrors/*.sqlite')")
        }
    }

    /// Opens every store read-only. One that cannot be read (missing, mid-copy, damaged, not a
    /// store) is reported on stderr and skipped; the others are answered.
    /// - Throws: The error of the only store, or ``CLIError`` when none can be read.
    func openSeveral() throws -> StoreSet {
        let paths = try resolvedPaths()
        var members: [StoreSet.Member] = [], skipped: [String] = []
        for path in paths {
            do {
                let store = try StoreOptions.openForReading(at: path)
                members.append(StoreSet.Member(path: path, store: store))
            } catch {
                if paths.count == 1 { throw error }
                let reason = "\(ErrorText.render(error))"
                Console.message("warning: skipped the store '\(path)': \(reason)")
                skipped.append(path)
            }
        }
        if members.isEmpty { throw CLIError("none of the \(paths.count) stores could be read (see the warnings above)") }
        return StoreSet(members: members, skipped: skipped)
    }

    /// The store holding the run `name` and the run's own name in it. With one store, the store
    /// itself (its own error names a missing run and lists the others); with several (`--db`
    /// repeated, or a glob), the one store holding `name`, or `name@store` picking one of several.
    /// A store that cannot be read is reported and skipped, as in ``openSeveral()``.
    /// - Returns: The store, the run's name in it, and the store's path.
    /// - Throws: ``CLIError`` for a run in no store or in several; the store's errors.
    func openRun(_ name: String) throws -> (store: DensityStore, run: String, path: String) {
        let paths = try resolvedPaths()
        if paths.count == 1 { return (try Self.openForReading(at: paths[0]), name, paths[0]) }
        let located = try openSeveral().locate(name)
        return (located.member.store, located.run, located.member.path)
    }
}
