import DensityStore
import Foundation

/// Several stores read as one: their runs listed together, a run name that two stores hold told
/// apart as `name@file`.
struct StoreSet {
    /// One readable store.
    struct Member {
        /// The path it was opened at.
        let path: String
        /// The store, read-only.
        let store: DensityStore
        /// Its source and snapshot time when it is a mirror.
        let origin: MirrorOrigin?
    }

    /// The stores that could be read, in the order given.
    let members: [Member]
    /// The paths that could not be read (reported on stderr).
    let skipped: [String]

    /// Whether several stores are read, so rows name their store.
    var isSeveral: Bool { members.count > 1 }

    /// How a store is named in a run's name and the table: its file name, or its path when two
    /// stores share a file name.
    func label(of member: Member) -> String {
        let name = URL(fileURLWithPath: member.path).lastPathComponent
        let shared = members.filter { URL(fileURLWithPath: $0.path).lastPathComponent == name }.count > 1
        return shared ? member.path : name
    }

    /// The name a run is shown by: its own, or `name@store` when another store has a run of that name.
    func displayName(_ run: String, in member: Member, clashes: Set<String>) -> String {
        clashes.contains(run) ? run + "@" + label(of: member) : run
    }

    /// The run names held by more than one store.
    func clashes(_ names: [(member: Int, name: String)]) -> Set<String> {
        var stores: [String: Set<Int>] = [:]
        for (member, name) in names { stores[name, default: []].insert(member) }
        return Set(stores.filter { $0.value.count > 1 }.keys)
    }

    /// The store holding a run and the run's own name: `name` when one store holds it, or
    /// `name@store` (a store's file name or path) to pick one of several.
    /// - Throws: ``CLIError`` when no store, or several, hold it.
    func locate(_ name: String) throws -> (member: Member, run: String) {
        let holders = members.filter { (try? $0.store.read { try $0.run(named: name) }) != nil }
        if holders.count == 1 { return (holders[0], name) }
        if holders.count > 1 {
            let choices = holders.map { "'\(name)@\(label(of: $0))'" }.joined(separator: ", ")
            throw CLIError("run '\(name)' is in \(holders.count) stores; name one: \(choices)")
        }
        if let at = name.lastIndex(of: "@") {
            let run = String(name[..<at]), store = String(name[name.index(after: at)...])
            if let member = members.first(where: { label(of: $0) == store || $0.path == store }),
               (try? member.store.read { try $0.run(named: run) }) != nil {
                return (member, run)
            }
        }
        if members.count == 1 { _ = try members[0].store.read { try $0.run(named: name) } }  // its own error, listing the runs
        throw CLIError("no run '\(name)' in the \(members.count) stores read; `density runs` lists them")
    }
}
