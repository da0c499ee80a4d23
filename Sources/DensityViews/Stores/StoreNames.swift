package import Foundation

/// How several stores read as one are named: the paths a quoted glob expands to, each store's
/// label, and the name a run is shown by, `name@store` when another store holds a run of that
/// name. Used alike by the commands that read several stores and by the server.
package struct StoreNames: Sendable {
    /// The stores' paths, in the order given.
    package let paths: [String]

    /// Names for the stores at `paths`.
    package init(paths: [String]) {
        self.paths = paths
    }

    /// `patterns` with every pattern that holds `*`, `?` or `[` (and names no file) expanded,
    /// each file once, in the order given.
    /// - Parameter unmatched: Called with a pattern that matches nothing; it may throw.
    package static func expand(_ patterns: [String], unmatched: (String) throws -> Void) rethrows -> [String] {
        var seen = Set<String>(), result: [String] = []
        for pattern in patterns {
            var matches = [pattern]
            if pattern.contains(where: { "*?[".contains($0) }), !FileManager.default.fileExists(atPath: pattern) {
                matches = glob(pattern)
                if matches.isEmpty { try unmatched(pattern) }
            }
            for path in matches where seen.insert(URL(fileURLWithPath: path).standardizedFileURL.path).inserted {
                result.append(path)
            }
        }
        return result
    }

    /// The files matching a shell pattern, sorted; none when nothing matches.
    package static func glob(_ pattern: String) -> [String] {
        var found = glob_t()
        defer { globfree(&found) }
        guard Glibc.glob(pattern, 0, nil, &found) == 0 else { return [] }
        return (0..<Int(found.gl_pathc)).compactMap { found.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    /// How the store at `path` is named in a run's name and the table: its file name, or its
    /// path when two stores share a file name.
    package func label(of path: String) -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let shared = paths.filter { URL(fileURLWithPath: $0).lastPathComponent == name }.count > 1
        return shared ? path : name
    }

    /// The name a run is shown by: its own, or `name@store` when another store has a run of that name.
    package func displayName(_ run: String, at path: String, clashes: Set<String>) -> String {
        clashes.contains(run) ? run + "@" + label(of: path) : run
    }

    /// The run names held by more than one store (`store` an index into the stores read).
    package static func clashes(_ names: [(store: Int, name: String)]) -> Set<String> {
        var stores: [String: Set<Int>] = [:]
        for (store, name) in names { stores[name, default: []].insert(store) }
        return Set(stores.filter { $0.value.count > 1 }.keys)
    }

    /// The store at `index` and a run name in it: a reading of a name given for a run.
    package typealias Candidate = (store: Int, run: String)

    /// Every reading of `name`: the run `name` in each store, then, when `name` is `run@store`,
    /// the run `run` in the store so labelled (or at that path). The caller checks which exist
    /// and passes those to ``locate(_:holding:)``.
    package func candidates(_ name: String) -> [Candidate] {
        var result = paths.indices.map { ($0, name) }
        if let at = name.lastIndex(of: "@") {
            let run = String(name[..<at]), store = String(name[name.index(after: at)...])
            if let index = paths.indices.first(where: { label(of: paths[$0]) == store || paths[$0] == store }) {
                result.append((index, run))
            }
        }
        return result
    }

    /// What a name given for a run names, from the ``candidates(_:)`` that exist.
    package enum Location: Equatable, Sendable {
        /// The run `run` in the store at `store`.
        case found(store: Int, run: String)
        /// Several stores hold a run of that name: the `name@store` spellings that pick one.
        case ambiguous([String])
        /// No store holds it.
        case missing
    }

    /// Where `name` points, given the candidates that exist: one store holding `name`; else the
    /// `name@store` reading; several stores holding `name` is ``Location/ambiguous(_:)``.
    package func locate(_ name: String, holding existing: [Candidate]) -> Location {
        let holders = existing.filter { $0.run == name }.map(\.store)
        if holders.count == 1 { return .found(store: holders[0], run: name) }
        if holders.count > 1 { return .ambiguous(holders.map { name + "@" + label(of: paths[$0]) }) }
        if let other = existing.first(where: { $0.run != name }) { return .found(store: other.store, run: other.run) }
        return .missing
    }
}
