/// Brings a store's schema to this build's version, one `Migrations/` file per transaction.
///
/// Applied versions are recorded in `schema_migrations` with the checksum of their SQL. A store
/// that holds a version this build does not know (written by a newer `density`), or whose applied
/// migration differs from this build's file, is refused before anything is changed.
public struct Migrator: Sendable {
    /// The migrations to apply, in order.
    public let migrations: [Migration]

    /// A migrator over a list of migrations.
    /// - Parameter migrations: In order; ``Migration/all`` by default.
    public init(migrations: [Migration] = Migration.all) {
        self.migrations = migrations
    }

    /// What a store holds compared to this build.
    public struct Status: Sendable, Hashable {
        /// Versions applied to the store.
        public var applied: [String]
        /// Versions of this build not yet applied.
        public var pending: [String]
    }

    /// Reads the store's schema status without changing anything.
    /// - Parameter connection: An open connection.
    /// - Returns: The applied and pending versions.
    /// - Throws: ``StoreError/schemaTooNew(path:unknown:latestKnown:)``,
    ///   ``StoreError/migrationChanged(path:version:name:)``, ``StoreError/notAStore(path:reason:)``,
    ///   or ``SQLiteError``.
    package func status(of connection: Connection) throws -> Status {
        let tables = Set(try connection.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table'") { $0.string(0) })
        guard tables.contains("schema_migrations") else {
            if let other = tables.filter({ !$0.hasPrefix("sqlite_") }).sorted().first {
                throw StoreError.notAStore(
                    path: connection.path,
                    reason: "it is an SQLite database with other tables (\(other), …) and no FeatureDensity schema")
            }
            return Status(applied: [], pending: migrations.map(\.version))
        }
        // Another tool's table of the same name (Rails has one) is not ours: refuse, don't fail on it.
        let columns = Set(try connection.query(
            "SELECT name FROM pragma_table_info('schema_migrations')") { $0.string(0) })
        guard columns.isSuperset(of: ["version", "name", "checksum"]) else {
            throw StoreError.notAStore(
                path: connection.path,
                reason: "its schema_migrations table has other columns (\(columns.sorted().joined(separator: ", "))) than FeatureDensity's")
        }
        let applied = try connection.query(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version") {
                (version: $0.string(0), name: $0.string(1), checksum: $0.string(2))
            }
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        if let unknown = applied.first(where: { known[$0.version] == nil }) {
            throw StoreError.schemaTooNew(
                path: connection.path, unknown: "\(unknown.version)_\(unknown.name)",
                latestKnown: migrations.last.map { "\($0.version)_\($0.name)" } ?? "none")
        }
        if let changed = applied.first(where: { known[$0.version]!.checksum != $0.checksum }) {
            throw StoreError.migrationChanged(path: connection.path, version: changed.version, name: changed.name)
        }
        let appliedSet = Set(applied.map(\.version))
        return Status(applied: applied.map(\.version),
                      pending: migrations.map(\.version).filter { !appliedSet.contains($0) })
    }

    /// Applies every pending migration, each in one IMMEDIATE transaction with its record.
    /// - Parameter connection: A writable connection.
    /// - Returns: The versions applied now.
    /// - Throws: What ``status(of:)`` throws, or the failing migration's ``SQLiteError``;
    ///   a failed migration is rolled back whole.
    @discardableResult
    package func migrate(_ connection: Connection) throws -> [String] {
        // Checked once without the lock, so a refused store is never written to.
        guard !(try status(of: connection).pending.isEmpty) else { return [] }
        try connection.execute(script: """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    TEXT NOT NULL PRIMARY KEY,
                name       TEXT NOT NULL,
                checksum   TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            ) STRICT;
            """)
        var appliedNow: [String] = []
        // Foreign keys are checked at the end of each migration, not during it (the pragma does
        // nothing inside a transaction, so it is set here, around them).
        try connection.execute("PRAGMA foreign_keys = OFF")
        defer { try? connection.execute("PRAGMA foreign_keys = ON") }
        for migration in migrations {
            try connection.inTransaction(.immediate) {
                // Another process may have migrated meanwhile: re-read under the write lock.
                let pending = try status(of: connection).pending
                guard pending.contains(migration.version) else { return }
                try connection.execute(script: migration.sql)
                let violations = try connection.query("PRAGMA foreign_key_check") { $0.string(0) }
                if let table = violations.first {
                    throw StoreError.notAStore(path: connection.path,
                                               reason: "migration \(migration.version) broke a foreign key in \(table)")
                }
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                    [.text(migration.version), .text(migration.name), .text(migration.checksum)])
                appliedNow.append(migration.version)
            }
        }
        return appliedNow
    }
}
