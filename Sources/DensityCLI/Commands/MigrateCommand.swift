import ArgumentParser
import DensityStore

/// `density migrate`: upgrade a store's schema.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Upgrade the store's schema to this version of density.",
        discussion: """
            Writing commands upgrade a store by themselves; queries open it read-only and ask for \
            this first. Each migration runs in its own transaction.
              density --db old.sqlite migrate
            """
    )

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try store.openForWriting()
        Console.message("store \(store.path) is at schema version \(Migration.all.last?.version ?? "?")")
    }
}
