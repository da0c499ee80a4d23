internal import CSQLite


/// One SQLite connection: a thin, safe owner of an `sqlite3*` handle.
///
/// Not `Sendable`: confine it to one owner (``DensityStore`` holds it in a `Mutex`).
/// Every value goes through bound parameters; nothing is spliced into SQL text.
package final class Connection {
    /// How to open the file.
    package enum Mode: Sendable, Hashable {
        /// Read and write; create the file when it does not exist.
        case readWriteCreate
        /// Read and write an existing file.
        case readWrite
        /// Read only: never writes, never creates, never takes a write lock.
        case readOnly
        /// Read only, of a file that never changes while it is open (SQLite's `immutable=1`): takes
        /// no lock at all and reads no journal. For store mirrors, which are replaced by rename,
        /// never written in place.
        case immutable
    }

    let handle: OpaquePointer
    /// The path this connection was opened on.
    package let path: String
    /// The count of transactions kept while ``countTransactions()`` traces them.
    var transactionCount: TransactionCount?

    /// Opens a connection.
    /// - Parameters:
    ///   - path: A file path, or `:memory:`.
    ///   - mode: How to open it.
    ///   - busyTimeout: How long a statement waits for another connection's lock, in milliseconds.
    /// - Throws: ``SQLiteError`` when the file cannot be opened.
    package init(path: String, mode: Mode = .readWriteCreate, busyTimeout: Int32 = 5_000) throws(SQLiteError) {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .immutable: flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
        }
        var db: OpaquePointer?
        let code = sqlite3_open_v2(mode == .immutable ? Self.immutableURI(path) : path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close(db)
            throw SQLiteError(code: code, message: message)
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeout)
        csqlite_disable_dqs(db)
        csqlite_enable_defensive(db)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// The `file:` URI that opens `path` immutable: every byte but unreserved ones and `/` is
    /// percent-encoded, so a `?`, `#` or `%` in a file name stays part of the name. An absolute
    /// path gets an empty authority (`file:///…`), so one starting `//` is not read as a host.
    static func immutableURI(_ path: String) -> String {
        var uri = path.hasPrefix("/") ? "file://" : "file:"
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                uri.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                uri += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return uri + "?immutable=1"
    }

    /// Prepares one statement.
    /// - Parameter sql: One SQL statement; its values are bound later with `?` placeholders.
    /// - Returns: The prepared statement.
    /// - Throws: ``SQLiteError`` when the SQL does not compile.
    package func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(connection: self, sql: sql)
    }

    /// Runs a script of one or more statements that take no parameters (migrations, pragmas).
    /// - Parameter sql: The script.
    /// - Throws: ``SQLiteError`` from the first statement that fails.
    package func execute(script sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if code != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: message, sql: sql)
        }
    }

    /// Runs one statement with bound values, stepping it to completion.
    /// - Parameters:
    ///   - sql: One statement.
    ///   - values: The values for its `?` placeholders, in order.
    /// - Throws: ``SQLiteError``.
    package func execute(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) {
        let statement = try prepare(sql)
        try statement.bind(values)
        while try statement.step() {}
    }

    /// Runs a query and maps every row.
    /// - Parameters:
    ///   - sql: One query.
    ///   - values: The values for its `?` placeholders.
    ///   - row: Reads one row from the statement.
    /// - Returns: One value per row.
    /// - Throws: ``SQLiteError``, or what `row` throws.
    package func query<T>(_ sql: String, _ values: [SQLiteValue] = [], row: (Statement) throws -> T) throws -> [T] {
        let statement = try prepare(sql)
        try statement.bind(values)
        var rows: [T] = []
        while try statement.step() {
            rows.append(try row(statement))
        }
        return rows
    }

    /// Runs a query and reads its first row, if any.
    /// - Parameters:
    ///   - sql: One query.
    ///   - values: The values for its `?` placeholders.
    ///   - row: Reads the row.
    /// - Returns: The first row's value, or `nil` when there is no row.
    /// - Throws: ``SQLiteError``, or what `row` throws.
    package func queryFirst<T>(_ sql: String, _ values: [SQLiteValue] = [], row: (Statement) throws -> T) throws -> T? {
        let statement = try prepare(sql)
        try statement.bind(values)
        return try statement.step() ? row(statement) : nil
    }

    /// The rowid of the last row inserted on this connection.
    package var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The number of rows the last INSERT, UPDATE or DELETE changed.
    package var changes: Int { Int(sqlite3_changes64(handle)) }

    /// Whether a transaction is open.
    package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Whether this connection may not write.
    package var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    func error(_ code: Int32, sql: String? = nil) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle) == 0 ? code : sqlite3_extended_errcode(handle),
                    message: lastErrorMessage, sql: sql)
    }
}

@available(*, unavailable)
extension Connection: Sendable {}
