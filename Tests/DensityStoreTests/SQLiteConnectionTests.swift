import Foundation
import Testing
@testable import DensityStore

/// The thin SQLite layer: binding and reading, typed errors, transactions and savepoints.
@Suite struct SQLiteConnectionTests {
    // SQLite result codes (https://www.sqlite.org/rescode.html), written out so the test does not
    // take them from the code under test.
    static let SQLITE_ERROR: Int32 = 1
    static let SQLITE_READONLY: Int32 = 8
    static let SQLITE_CANTOPEN: Int32 = 14
    static let SQLITE_CONSTRAINT: Int32 = 19
    static let SQLITE_RANGE: Int32 = 25
    static let SQLITE_CONSTRAINT_UNIQUE: Int32 = 2067

    private func memory() throws -> Connection { try Connection(path: ":memory:") }

    private func names(_ db: Connection) throws -> [String] {
        try db.query("SELECT name FROM t ORDER BY id") { $0.string(0) }
    }

    // MARK: - Binding and reading

    @Test(arguments: [
        (SQLiteValue.null, "null"),
        (.integer(0), "integer"),
        (.integer(.max), "integer"),
        (.integer(.min), "integer"),
        (.real(0.1), "real"),
        (.real(-0.0), "real"),
        (.real(.greatestFiniteMagnitude), "real"),
        (.real(.infinity), "real"),
        (.text(""), "text"),
        (.text("plain"), "text"),
        (.text("quote ' \" ; -- DROP TABLE t; /* */"), "text"),
        (.text("naïve café 名前 🚀 e\u{301}"), "text"),
        (.blob(Data()), "blob"),
        (.blob(Data([0, 1, 2, 0, 255])), "blob"),
    ] as [(SQLiteValue, String)])
    func bindAndReadEveryValueType(value: SQLiteValue, type: String) throws {
        let db = try memory()
        try db.execute("CREATE TABLE v (x ANY) STRICT")
        try db.execute("INSERT INTO v (x) VALUES (?)", [value])
        let row = try #require(try db.queryFirst("SELECT x, typeof(x), length(x) FROM v") { row in
            (type: row.string(1), value: Self.read(row, type: row.string(1)), isNull: row.isNull(0))
        })
        #expect(row.type == type)
        #expect(row.value == value)
        #expect(row.isNull == (type == "null"))
    }

    /// Reads column 0 back into a value by its SQLite type.
    private static func read(_ row: Statement, type: String) -> SQLiteValue {
        switch type {
        case "integer": return .integer(row.int64(0))
        case "real": return .real(row.double(0))
        case "text": return .text(row.string(0))
        case "blob": return .blob(row.data(0))
        default: return .null
        }
    }

    @Test func emptyBlobIsNotNull() throws {
        let db = try memory()
        try db.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, x BLOB)")
        try db.execute("INSERT INTO v (id, x) VALUES (1, ?), (2, ?)", [.blob(Data()), .null])
        let rows = try db.query("SELECT x IS NULL, typeof(x), length(x) FROM v ORDER BY id") {
            (isNull: $0.int(0) == 1, type: $0.string(1), length: $0.isNull(2) ? nil : $0.int(2))
        }
        #expect(rows.count == 2)
        #expect(rows[0].isNull == false && rows[0].type == "blob" && rows[0].length == 0)
        #expect(rows[1].isNull == true && rows[1].type == "null" && rows[1].length == nil)
        // A NOT NULL blob column accepts the empty blob.
        try db.execute("CREATE TABLE w (x BLOB NOT NULL)")
        try db.execute("INSERT INTO w (x) VALUES (?)", [.blob(Data())])
        let blobs = try db.query("SELECT x FROM w") { row in row.withBlob(0) { $0.count } }
        #expect(blobs == [0])
        #expect(throws: SQLiteError.self) { try db.execute("INSERT INTO w (x) VALUES (?)", [.null]) }
    }

    @Test func textWithNULCharacterRoundTrips() throws {
        let db = try memory()
        let text = "before\u{0}after"
        let row = try db.queryFirst("SELECT ?, length(CAST(? AS BLOB))", [.text(text), .text(text)]) {
            (text: $0.string(0), bytes: $0.int(1))
        }
        #expect(row?.bytes == text.utf8.count)
        #expect(row?.text == text)
    }

    @Test func blobBytesAreExact() throws {
        let db = try memory()
        var rng = SplitMix64(seed: 3)
        let bytes = Data((0..<10_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
        let back = try db.queryFirst("SELECT ?", [.blob(bytes)]) { $0.data(0) }
        #expect(back == bytes)
        let crc = try db.queryFirst("SELECT ?", [.blob(bytes)]) { row in row.withBlob(0) { CRC32.checksum($0) } }
        #expect(crc == bitwiseCRC32(bytes))
    }

    @Test func optionalStringDistinguishesNullFromEmpty() throws {
        let db = try memory()
        let row = try db.queryFirst("SELECT NULL, ''") { ($0.optionalString(0), $0.optionalString(1)) }
        #expect(row?.0 == nil)
        #expect(row?.1 == "")
    }

    @Test func statementRebindsForEachUse() throws {
        let db = try memory()
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        let insert = try db.prepare("INSERT INTO t (id, name) VALUES (?, ?)")
        for (id, name) in [(1, "a"), (2, "b"), (3, "c")] {
            try insert.bind([.integer(Int64(id)), .text(name)])
            try insert.step()
        }
        #expect(try names(db) == ["a", "b", "c"])
        #expect(db.lastInsertedRowID == 3)
    }

    // MARK: - Errors

    @Test func uniqueViolationHasExtendedCodeAndMessage() throws {
        let db = try memory()
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
        try db.execute("INSERT INTO t (name) VALUES (?)", ["x"])
        let error = #expect(throws: SQLiteError.self) {
            try db.execute("INSERT INTO t (name) VALUES (?)", ["x"])
        }
        let e = try #require(error)
        #expect(e.code == Self.SQLITE_CONSTRAINT_UNIQUE)
        #expect(e.primaryCode == Self.SQLITE_CONSTRAINT)
        #expect(e.message.contains("UNIQUE constraint failed: t.name"))
        #expect(e.description.contains(e.message))
        #expect(e.description.contains("2067"))
        #expect(e.sql == "INSERT INTO t (name) VALUES (?)")
        // The connection is still usable, and the row was not inserted.
        #expect(try db.queryFirst("SELECT count(*) FROM t") { $0.int(0) } == 1)
    }

    @Test func syntaxErrorNamesTheStatement() throws {
        let db = try memory()
        let error = #expect(throws: SQLiteError.self) { _ = try db.prepare("SELEC 1") }
        #expect(error?.code == Self.SQLITE_ERROR)
        #expect(error?.sql == "SELEC 1")
        #expect(error?.description.contains("SELEC 1") == true)
        #expect(error?.message.contains("syntax error") == true)
    }

    @Test func doubleQuotedStringsAreIdentifiersOnly() throws {
        let db = try memory()
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        // With DQS off, a misspelt column in double quotes is an error, not the string 'nmae'.
        let error = #expect(throws: SQLiteError.self) { try db.execute(#"SELECT "nmae" FROM t"#) }
        #expect(error?.message.contains("nmae") == true)
    }

    @Test func wrongNumberOfValuesIsARangeError() throws {
        let db = try memory()
        let error = #expect(throws: SQLiteError.self) { try db.execute("SELECT ?, ?", [1]) }
        #expect(error?.code == Self.SQLITE_RANGE)
        #expect(error?.message.contains("2") == true)
    }

    @Test func scriptRunsEveryStatementAndReportsTheFailingOne() throws {
        let db = try memory()
        try db.execute(script: """
            CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
            INSERT INTO t (name) VALUES ('a');
            INSERT INTO t (name) VALUES ('b');
            """)
        #expect(try names(db) == ["a", "b"])
        let error = #expect(throws: SQLiteError.self) {
            try db.execute(script: "INSERT INTO t (name) VALUES ('c'); INSERT INTO nope VALUES (1);")
        }
        #expect(error?.message.contains("no such table: nope") == true)
    }

    @Test func openingAMissingFileWithoutCreateFails() throws {
        try withTemporaryPath { path in
            let error = #expect(throws: SQLiteError.self) { _ = try Connection(path: path, mode: .readWrite) }
            #expect(error?.primaryCode == Self.SQLITE_CANTOPEN)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func readOnlyConnectionRefusesWrites() throws {
        try withTemporaryPath { path in
            do {
                let writer = try Connection(path: path)
                try writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
                try writer.execute("INSERT INTO t (name) VALUES ('a')")
                #expect(!writer.isReadOnly)
            }
            let before = try fileBytes(path)
            let reader = try Connection(path: path, mode: .readOnly)
            #expect(reader.isReadOnly)
            #expect(try names(reader) == ["a"])
            let error = #expect(throws: SQLiteError.self) { try reader.execute("INSERT INTO t (name) VALUES ('b')") }
            #expect(error?.primaryCode == Self.SQLITE_READONLY)
            #expect(throws: SQLiteError.self) { try reader.execute("CREATE TABLE u (x)") }
            #expect(try names(reader) == ["a"])
            #expect(try fileBytes(path) == before)
        }
    }

    // MARK: - Transactions and savepoints

    private func table() throws -> Connection {
        let db = try memory()
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        return db
    }

    struct Boom: Error, Equatable {}

    @Test func transactionCommitsAndReturnsItsValue() throws {
        let db = try table()
        let value = try db.inTransaction {
            #expect(db.isInTransaction)
            try db.execute("INSERT INTO t (name) VALUES ('a')")
            return 42
        }
        #expect(value == 42)
        #expect(!db.isInTransaction)
        #expect(try names(db) == ["a"])
    }

    @Test(arguments: [TransactionKind.deferred, .immediate, .exclusive])
    func transactionRollsBackOnThrow(kind: TransactionKind) throws {
        let db = try table()
        try db.execute("INSERT INTO t (name) VALUES ('kept')")
        #expect(throws: Boom()) {
            try db.inTransaction(kind) {
                try db.execute("INSERT INTO t (name) VALUES ('lost')")
                try db.execute("UPDATE t SET name = 'changed' WHERE name = 'kept'")
                throw Boom()
            }
        }
        #expect(!db.isInTransaction)
        #expect(try names(db) == ["kept"])
    }

    @Test func nestedSavepointRollbackKeepsTheOuterWork() throws {
        let db = try table()
        try db.inTransaction {
            try db.execute("INSERT INTO t (name) VALUES ('outer-before')")
            #expect(throws: Boom()) {
                try db.inSavepoint {
                    try db.execute("INSERT INTO t (name) VALUES ('inner-lost')")
                    throw Boom()
                }
            }
            #expect(db.isInTransaction, "the outer transaction is still open")
            try db.inSavepoint { try db.execute("INSERT INTO t (name) VALUES ('inner-kept')") }
            // A nested inTransaction is a savepoint too.
            #expect(throws: Boom()) {
                try db.inTransaction {
                    try db.execute("INSERT INTO t (name) VALUES ('nested-lost')")
                    throw Boom()
                }
            }
            try db.execute("INSERT INTO t (name) VALUES ('outer-after')")
        }
        #expect(try names(db) == ["outer-before", "inner-kept", "outer-after"])
    }

    @Test func savepointsNestSeveralLevels() throws {
        let db = try table()
        try db.inTransaction {
            try db.inSavepoint {
                try db.execute("INSERT INTO t (name) VALUES ('level1')")
                #expect(throws: Boom()) {
                    try db.inSavepoint {
                        try db.execute("INSERT INTO t (name) VALUES ('level2')")
                        try db.inSavepoint { try db.execute("INSERT INTO t (name) VALUES ('level3')") }
                        throw Boom()
                    }
                }
            }
        }
        #expect(try names(db) == ["level1"])
    }

    @Test func outerRollbackUndoesReleasedSavepoints() throws {
        let db = try table()
        #expect(throws: Boom()) {
            try db.inTransaction {
                try db.inSavepoint { try db.execute("INSERT INTO t (name) VALUES ('inner')") }
                throw Boom()
            }
        }
        #expect(try names(db) == [])
    }

    @Test func savepointOutsideATransactionIsATransaction() throws {
        let db = try table()
        #expect(throws: Boom()) {
            try db.inSavepoint {
                #expect(db.isInTransaction)
                try db.execute("INSERT INTO t (name) VALUES ('lost')")
                throw Boom()
            }
        }
        #expect(!db.isInTransaction)
        try db.inSavepoint { try db.execute("INSERT INTO t (name) VALUES ('kept')") }
        #expect(!db.isInTransaction)
        #expect(try names(db) == ["kept"])
    }

    @Test func failedCommitRollsBackAndThrows() throws {
        let db = try memory()
        try db.execute(script: """
            PRAGMA foreign_keys = ON;
            CREATE TABLE parent (id INTEGER PRIMARY KEY);
            CREATE TABLE child (id INTEGER PRIMARY KEY,
                                parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
            """)
        // A deferred foreign key fails at COMMIT, not at the INSERT.
        let error = #expect(throws: SQLiteError.self) {
            try db.inTransaction { try db.execute("INSERT INTO child (parent_id) VALUES (99)") }
        }
        #expect(error?.primaryCode == Self.SQLITE_CONSTRAINT)
        #expect(!db.isInTransaction)
        #expect(try db.queryFirst("SELECT count(*) FROM child") { $0.int(0) } == 0)
    }
}
