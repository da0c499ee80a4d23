import ArgumentParser
import DensityStore
import Foundation

// MARK: - Several stores

/// `--db PATH`, repeated, for the commands that look across runs (runs, compare): every store is
/// read, and a quoted glob (`--db 'mirrors/*.sqlite'`) is expanded here.
extension StoreOptions {
    /// The paths in effect, globs expanded, each once, in the order given: `--db`, else
    /// `$DENSITY_DB`, else `density.sqlite`.
    /// - Throws: ``CLIError`` for a glob that matches nothing.
    func resolvedPaths() throws -> [String] {
        var given = self.paths
        if given.isEmpty {
            let env = ProcessInfo.processInfo.environment["DENSITY_DB"] ?? ""
            given = [env.isEmpty ? "density.sqlite" : env]
        }
        var seen = Set<String>(), result: [String] = []
        for pattern in given {
            var matches = [pattern]
            if pattern.contains(where: { "*?[".contains($0) }), !FileManager.default.fileExists(atPath: pattern) {
                matches = Self.glob(pattern)
                if matches.isEmpty { throw CLIError("no store matches --db '\(pattern)'; check the folder and the pattern (e.g. --db 'mirrors/*.sqlite')") }
            }
            for path in matches where seen.insert(URL(fileURLWithPath: path).standardizedFileURL.path).inserted {
                result.append(path)
            }
        }
        return result
    }

    /// The files matching a shell pattern, sorted; none when nothing matches.
    static func glob(_ pattern: String) -> [String] {
        var found = glob_t()
        defer { globfree(&found) }
        guard Glibc.glob(pattern, 0, nil, &found) == 0 else { return [] }
        return (0..<Int(found.gl_pathc)).compactMap { found.gl_pathv[$0].map { String(cString: $0) } }.sorted()
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
                members.append(StoreSet.Member(path: path, store: store, origin: try? store.read { try $0.mirrorOrigin() }))
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
}
