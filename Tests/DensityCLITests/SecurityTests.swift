import DensityStore
import Foundation
import Testing

/// Values are bound, never spliced into SQL: run names and metadata with quotes, unicode and SQL
/// fragments round-trip exactly. Files are created with the user's umask and never world-writable.
@Suite struct SecurityTests {
    static let names = [
        "it's", "double \"quoted\"", "'; DROP TABLE runs; --", "x'); DELETE FROM checkpoints; --",
        "ünïcødé 名前 🚀", "back\\slash", "%", "_", "%2F%00", "  spaces  ", "-dash", "a\u{301}", "NULL",
    ]

    @Test func hostileNamesAndMetadataRoundTripExactly() throws {
        try Sandbox.with { sandbox in
            let file = try sandbox.npy("a.npy", "np.random.default_rng(4).standard_normal((8, 6)).astype(np.float32)")
            var metadata: [String: String] = [:]
            for (index, name) in Self.names.enumerated() {
                let meta = try String(decoding: JSONSerialization.data(withJSONObject: [
                    "note": "'; DROP TABLE runs; -- \(index)", "name": name, "emoji": "🚀\"\\'",
                ], options: [.sortedKeys]), as: UTF8.self)
                metadata[name] = meta
                // `--` ends the options, so a name starting with '-' is a name; --db goes before it.
                for arguments in [["create", "--db", sandbox.db, "--features", "6", "--meta", meta, "--", name],
                                  ["ingest", "--db", sandbox.db, "--step", String(index + 1), "--", name, file]] {
                    let result = try sandbox.density(arguments)
                    try #require(result.status == 0, "\(result)")
                }
            }
            let runs = try sandbox.runs()
            #expect(Set(runs.keys) == Set(Self.names))
            for (index, name) in Self.names.enumerated() {
                #expect(runs[name]?.latest_step == Int64(index + 1), "\(name)")
                let show = try decode(ShowOutput.self, try sandbox.density(["show", "--db", sandbox.db, "--format", "json", "--", name]),
                                      keys: ShowOutput.keys)
                #expect(show.run == name && show.step == Int64(index + 1))
            }
            // A name is matched exactly: '%' and '_' are not patterns.
            expectFailure(try sandbox.db(["show", "%%"]), mentioning: ["no run named '%%'"])
            let store = try DensityStore(path: sandbox.db, readOnly: true)
            for name in Self.names {
                #expect(try store.read { try $0.run(named: name) }.metadata == metadata[name], "metadata of \(name)")
            }
            let tables = try Connection(path: sandbox.db, mode: .readOnly)
                .query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") { $0.string(0) }
            #expect(Set(["runs", "checkpoints", "chunks", "checkpoint_summaries"]).isSubset(of: Set(tables)))
            #expect(try RawStore.integrityCheck(sandbox.db) == ["ok"])
        }
    }

    @Test(arguments: [0o022, 0o077, 0o000])
    func filesFollowTheUmaskAndAreNeverWorldWritable(umask mask: Int) throws {
        try Sandbox.with { sandbox in
            try sandbox.npy("a.npy", "np.ones((2, 4), dtype=np.float32)")
            let binary = try DensityBinary.url().path
            let script = "umask \(String(mask, radix: 8)) && \"$0\" create r --features 4 --db store.sqlite && \"$0\" ingest r --step 1 a.npy --db store.sqlite"
            let result = try Subprocess.run(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", script, binary],
                                            cwd: sandbox.work, environment: [:], io: sandbox.root.appendingPathComponent("io"))
            try #require(result.status == 0, "\(result)")
            func mode(_ path: String) throws -> Int {
                try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
            }
            // SQLite creates files 0644 less the umask; the lock file follows the store.
            let expected = 0o644 & ~mask
            let storeMode = try mode(sandbox.db)
            #expect(storeMode == expected, "store mode \(String(storeMode, radix: 8))")
            #expect(try mode(sandbox.db + ".lock") == expected)
            // While a writer has it open, SQLite's -wal and -shm files carry the store's mode.
            let writer = try DensityStore(path: sandbox.db)
            try writer.lockRunForWriting("r")
            for suffix in ["-wal", "-shm"] {
                #expect(try mode(sandbox.db + suffix) == expected, "\(suffix)")
            }
            for name in sandbox.listing() where name.hasPrefix("store.sqlite") {
                #expect(try mode(sandbox.path(name)) & 0o002 == 0, "\(name) is world-writable")
            }
            _ = writer
        }
    }
}
