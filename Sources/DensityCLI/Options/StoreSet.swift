import DensityStore
import DensityViews
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
    }

    /// The stores that could be read, in the order given.
    let members: [Member]
    /// The paths that could not be read (reported on stderr).
    let skipped: [String]

    /// Whether several stores are read, so rows name their store.
    var isSeveral: Bool { members.count > 1 }

    /// The stores' names: labels, `name@store`, what a given name points to.
    var names: StoreNames { StoreNames(paths: members.map(\.path)) }

    /// The store holding a run and the run's own name: `name` when one store holds it, or
    /// `name@store` (a store's file name or path) to pick one of several.
    /// - Throws: ``CLIError`` when no store, or several, hold it.
    func locate(_ name: String) throws -> (member: Member, run: String) {
        let names = self.names
        let existing = names.candidates(name).filter { candidate in
            (try? members[candidate.store].store.read { try $0.run(named: candidate.run) }) != nil
        }
        switch names.locate(name, holding: existing) {
        case let .found(store, run):
            return (members[store], run)
        case let .ambiguous(choices):
            throw CLIError("run '\(name)' is in \(choices.count) stores; name one: \(choices.map { "'\($0)'" }.joined(separator: ", "))")
        case .missing:
            if members.count == 1 { _ = try members[0].store.read { try $0.run(named: name) } }  // its own error, listing the runs
            throw CLIError("no run '\(name)' in the \(members.count) stores read; `density runs` lists them")
        }
    }
}
