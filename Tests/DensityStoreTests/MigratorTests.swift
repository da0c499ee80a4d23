import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// Schema migrations: what a fresh store records, how an older store is upgraded, and which
/// files are refused without being touched.
@Suite struct MigratorTests {
    /// The package's Migrations/ folder, found from this file's path.
    static let migrationsFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Migrations")

    /// The checksum format recorded in `schema_migrations`: CRC-32 of the SQL as 8 lowercase hex digits.
    static func expectedChecksum(_ sql: String) -> String {
        let hex = String(bitwiseCRC32(sql.utf8), radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// A migration that sorts after every real one: it adds a table filled from the existing runs,
    /// and an index, so that it only succeeds on a store with the earlier schema and its rows.
    static let synthetic: Migration = {
        let next = (Migration.all.last.flatMap { Int($0.version) } ?? 0) + 1
        let version = String(repeating: "0", count: max(0, 4 - String(next).count)) + String(next)
        return Migration(version: version, name: "synthetic_run_notes", sql: """
            CREATE TABLE run_notes (
                run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                note   TEXT    NOT NULL
            ) STRICT;
            INSERT INTO run_notes (run_id, note) SELECT id, 'migrated: ' || name FROM runs;
            CREATE INDEX checkpoints_by_vectors ON checkpoints (run_id, vectors);
            """)
    }()

    static let newer = Migrator(migrations: Migration.all + [synthetic])

    private func appliedRows(_ path: String) throws -> [(version: String, name: String, checksum: String, appliedAt: String)] {
        let db = try Connection(path: path, mode: .readOnly)
        return try db.query("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version") {
            (version: $0.string(0), name: $0.string(1), checksum: $0.string(2), appliedAt: $0.string(3))
        }
    }

    // MARK: - What this build embeds

    @Test func embeddedMigrationsAreTheFilesOfMigrationsFolder() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.migrationsFolder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        try #require(!files.isEmpty)
        #expect(Migration.all.map { "\($0.version)_\($0.name).sql" } == files)
        for (migration, file) in zip(Migration.all, files) {
            let text = try String(contentsOf: Self.migrationsFolder.appendingPathComponent(file), encoding: .utf8)
            #expect(migration.sql == text, "\(file) is embedded verbatim")
            #expect(migration.checksum == Self.expectedChecksum(text))
        }
        let versions = Migration.all.map(\.version)
        #expect(versions == versions.sorted() && Set(versions).count == versions.count)
    }

    // MARK: - Fresh and older stores

    @Test func freshStoreRecordsEveryVersionWithItsChecksum() throws {
        try withTemporaryPath { path in
            _ = try DensityStore(path: path)
            let rows = try appliedRows(path)
            #expect(rows.map(\.version) == Migration.all.map(\.version))
            #expect(rows.map(\.name) == Migration.all.map(\.name))
            #expect(rows.map(\.checksum) == Migration.all.map { Self.expectedChecksum($0.sql) })
            #expect(rows.allSatisfy { $0.appliedAt.hasSuffix("Z") && $0.appliedAt.count >= 20 })
            // Opening again applies nothing.
            let store = try DensityStore(path: path)
            #expect(try store.read { try $0.runs() }.isEmpty)
            let db = try Connection(path: path)
            #expect(try Migrator().migrate(db) == [])
            #expect(try Migrator().status(of: db) == Migrator.Status(applied: Migration.all.map(\.version), pending: []))
            #expect(try appliedRows(path).map(\.appliedAt) == rows.map(\.appliedAt))
        }
    }

    @Test func emptyDatabaseHasEverythingPending() throws {
        let db = try Connection(path: ":memory:")
        #expect(try Self.newer.status(of: db) == Migrator.Status(
            applied: [], pending: Self.newer.migrations.map(\.version)))
        #expect(try Self.newer.migrate(db) == Self.newer.migrations.map(\.version))
        #expect(try Self.newer.status(of: db).pending.isEmpty)
    }

    /// Builds a store at the first migration only, with one run, one checkpoint and its chunks
    /// written by plain SQL per that schema. Returns the state it holds.
    private func makeFirstVersionStore(_ path: String) throws -> DensityState {
        let db = try Connection(path: path)
        #expect(try Migrator(migrations: Array(Migration.all.prefix(1))).migrate(db) == [Migration.all[0].version])
        let state = try DensityState(features: 5, components: 2, counts: [3, 0, 7, 1, 2, 10, 0, 0, 9, 4],
                                     vectors: 10, nonFinite: 1)
        try db.execute("""
            INSERT INTO runs (id, name, features, components, fire_threshold, chunk_features, metadata)
            VALUES (1, 'old-run', 5, 2, 0.001, 2, '{"l1": 0.5}')
            """)
        try db.execute("INSERT INTO checkpoints (id, run_id, step, vectors, non_finite) VALUES (1, 1, 100, 10, 1)")
        for component in 0..<2 {
            for chunk in 0..<3 {
                let start = component * 5 + chunk * 2
                let data = littleEndianBytes(state.counts[start..<min(start + 2, component * 5 + 5)])
                try db.execute(
                    "INSERT INTO chunks (checkpoint_id, component, chunk, encoding, checksum, data) VALUES (1, ?, ?, 1, ?, ?)",
                    [.integer(Int64(component)), .integer(Int64(chunk)), .integer(Int64(bitwiseCRC32(data))), .blob(data)])
            }
        }
        return state
    }

    @Test func olderStoreIsUpgradedAndKeepsItsRows() throws {
        try withTemporaryPath { path in
            let state = try makeFirstVersionStore(path)

            // This build reads it (after applying whatever it has beyond the first migration).
            do {
                let store = try DensityStore(path: path)
                let latest = try #require(try store.read { try $0.state(run: "old-run") })
                #expect(latest.state == state)
                #expect(latest.checkpoint.step == 100)
                // Written before summaries were stored: summarized from its counts on demand.
                #expect(try store.read { try $0.summary(run: "old-run") }.summary == DensitySummary(state))
                #expect(try store.read { try $0.checkpoints(run: "old-run") }.map(\.deltaDepth) == [0])
            }

            // A read-only open by a newer build asks for a migration and changes nothing.
            let before = try fileBytes(path)
            let error = #expect(throws: StoreError.self) {
                _ = try DensityStore(path: path, readOnly: true, migrator: Self.newer)
            }
            #expect(error == .needsMigration(path: path, pending: [Self.synthetic.version]))
            #expect(error?.description.contains(Self.synthetic.version) == true)
            #expect(try fileBytes(path) == before)

            // A writing open by the newer build upgrades it.
            do {
                let store = try DensityStore(path: path, migrator: Self.newer)
                #expect(try appliedRows(path).map(\.version) == Self.newer.migrations.map(\.version))
                #expect(try appliedRows(path).last?.checksum == Self.expectedChecksum(Self.synthetic.sql))
                let run = try store.read { try $0.run(named: "old-run") }
                #expect(run.features == 5 && run.components == 2 && run.chunkFeatures == 2)
                #expect(run.fireThreshold == 0.001 && run.metadata == #"{"l1": 0.5}"#)
                #expect(try store.read { try $0.state(run: "old-run") }.state == state)
                #expect(try store.read { try $0.checkpoints(run: "old-run") }.map(\.step) == [100])
                // The old store can take new checkpoints.
                let next = try state.merged(with: DensityState(
                    features: 5, components: 2, counts: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], vectors: 1))
                try store.appendCheckpoint(run: "old-run", step: 200, state: next)
                #expect(try store.read { try $0.state(run: "old-run") }.state == next)
                // ... as a delta (encoding 3) on top of the raw keyframe (encoding 1).
                #expect(try store.read { try $0.checkpoints(run: "old-run") }.map(\.deltaDepth) == [0, 1])
                #expect(try store.read { try $0.trend(run: "old-run", feature: 3, component: 1) }.map(\.count) == [9, 10])
            }
            // The migration ran over the old rows.
            let db = try Connection(path: path, mode: .readOnly)
            #expect(try db.query("SELECT note FROM run_notes") { $0.string(0) } == ["migrated: old-run"])
            // And a read-only open by the newer build now works.
            let reader = try DensityStore(path: path, readOnly: true, migrator: Self.newer)
            #expect(try reader.read { try $0.state(run: "old-run", at: .exact(150)) }.state == state)
        }
    }

    @Test func failingMigrationIsRolledBackWhole() throws {
        try withTemporaryPath { path in
            let state = try makeFirstVersionStore(path)
            let broken = Migration(version: Self.synthetic.version, name: "broken", sql: """
                CREATE TABLE half_done (x INTEGER) STRICT;
                INSERT INTO half_done VALUES (1);
                INSERT INTO no_such_table VALUES (1);
                """)
            let migrator = Migrator(migrations: Migration.all + [broken])
            let error = #expect(throws: StoreError.self) { _ = try DensityStore(path: path, migrator: migrator) }
            #expect(error?.description.contains("no_such_table") == true)
            let db = try Connection(path: path, mode: .readOnly)
            #expect(try db.query("SELECT name FROM sqlite_schema WHERE name = 'half_done'") { $0.string(0) } == [])
            #expect(try appliedRows(path).map(\.version) == Migration.all.map(\.version))
            #expect(try DensityStore(path: path).read { try $0.state(run: "old-run") }.state == state)
        }
    }

    @Test func migrationBreakingAForeignKeyIsRolledBack() throws {
        try withTemporaryPath { path in
            let state = try makeFirstVersionStore(path)
            let orphan = Migration(version: Self.synthetic.version, name: "orphan", sql: """
                INSERT INTO checkpoints (run_id, step, vectors, non_finite) VALUES (999, 1, 1, 0);
                """)
            let error = #expect(throws: StoreError.self) {
                _ = try DensityStore(path: path, migrator: Migrator(migrations: Migration.all + [orphan]))
            }
            guard case .notAStore(_, let reason) = try #require(error) else {
                Issue.record("expected notAStore, got \(String(describing: error))")
                return
            }
            #expect(reason.contains("checkpoints"))
            let store = try DensityStore(path: path)
            #expect(try store.read { try $0.checkpoints(run: "old-run") }.map(\.step) == [100])
            #expect(try store.read { try $0.state(run: "old-run") }.state == state)
        }
    }

    // MARK: - Refused files are left untouched

    @Test func newerSchemaIsRefusedAndFileUnchanged() throws {
        try withTemporaryPath { path in
            do {
                let store = try DensityStore(path: path)
                try store.createRun(name: "r", features: 3)
            }
            do {
                let db = try Connection(path: path)
                try db.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES ('9999', 'from_the_future', 'abcdef01')")
            }
            let before = try fileBytes(path)
            let latest = try #require(Migration.all.last)
            for readOnly in [false, true] {
                let error = #expect(throws: StoreError.self) { _ = try DensityStore(path: path, readOnly: readOnly) }
                #expect(error == .schemaTooNew(path: path, unknown: "9999_from_the_future",
                                               latestKnown: "\(latest.version)_\(latest.name)"))
                #expect(error?.description.contains("Nothing was changed") == true)
                #expect(try fileBytes(path) == before)
            }
        }
    }

    @Test func changedMigrationIsRefusedAndFileUnchanged() throws {
        try withTemporaryPath { path in
            do {
                let store = try DensityStore(path: path)
                try store.createRun(name: "r", features: 3)
            }
            let first = Migration.all[0]
            do {
                let db = try Connection(path: path)
                let fake = first.checksum == "deadbeef" ? "00000000" : "deadbeef"
                try db.execute("UPDATE schema_migrations SET checksum = ? WHERE version = ?", [.text(fake), .text(first.version)])
                #expect(db.changes == 1)
            }
            let before = try fileBytes(path)
            for readOnly in [false, true] {
                let error = #expect(throws: StoreError.self) { _ = try DensityStore(path: path, readOnly: readOnly) }
                #expect(error == .migrationChanged(path: path, version: first.version, name: first.name))
                #expect(try fileBytes(path) == before)
            }
        }
    }

    @Test(arguments: ["random", "text", "truncated-sqlite"])
    func nonDatabaseFileIsRefusedAndUnchanged(kind: String) throws {
        try withTemporaryPath { path in
            var rng = SplitMix64(seed: 11)
            let content: Data
            switch kind {
            case "random": content = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) })
            case "text": content = Data("run,step,density\nrun-1,10,0.5\n".utf8)
            default:  // an SQLite header followed by garbage
                content = Data("SQLite format 3\0".utf8) + Data((0..<4080).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            try content.write(to: URL(fileURLWithPath: path))
            for readOnly in [false, true] {
                let error = #expect(throws: StoreError.self) { _ = try DensityStore(path: path, readOnly: readOnly) }
                guard case .notADatabase(let errorPath, _) = try #require(error) else {
                    Issue.record("expected notADatabase, got \(String(describing: error))")
                    continue
                }
                #expect(errorPath == path)
                #expect(try fileBytes(path) == content)
            }
        }
    }

    @Test func missingFileOpenedReadOnlyIsNotCreated() throws {
        try withTemporaryPath { path in
            let error = #expect(throws: StoreError.self) { _ = try DensityStore(path: path, readOnly: true) }
            #expect(error == .notADatabase(path: path, detail: "no such file"))
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test(arguments: [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO users (email) VALUES ('a@b.c');",
        // Another tool's migration table of the same name (Rails), with its own tables.
        "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000'); CREATE TABLE users (id INTEGER PRIMARY KEY);",
    ])
    func otherSQLiteDatabaseIsNotAStore(script: String) throws {
        try withTemporaryPath { path in
            do {
                let db = try Connection(path: path)
                try db.execute(script: script)
            }
            let before = try fileBytes(path)
            for readOnly in [false, true] {
                let error = #expect(throws: StoreError.self) { _ = try DensityStore(path: path, readOnly: readOnly) }
                guard case .notAStore(let errorPath, _) = try #require(error) else {
                    Issue.record("expected notAStore, got \(String(describing: error))")
                    continue
                }
                #expect(errorPath == path)
                #expect(error?.description.contains("users") == true || error?.description.contains("schema_migrations") == true)
                #expect(try fileBytes(path) == before)
            }
        }
    }
}
