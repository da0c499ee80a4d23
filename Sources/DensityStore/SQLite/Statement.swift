internal import CSQLite
package import Foundation

/// A prepared statement: owns an `sqlite3_stmt*`, finalized when released.
///
/// Values are always bound to `?` placeholders; column reads are 0-based.
package final class Statement {
    let handle: OpaquePointer
    /// The connection that prepared this statement; kept alive as long as the statement.
    let connection: Connection
    /// The SQL text.
    package let sql: String

    init(connection: Connection, sql: String) throws(SQLiteError) {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(connection.handle, sql, -1, 0, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw connection.error(code, sql: sql)
        }
        self.handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Resets the statement and binds new values to its placeholders.
    /// - Parameter values: One value per `?`, in order.
    /// - Throws: ``SQLiteError`` when the count is wrong or a bind fails.
    package func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw SQLiteError(code: SQLITE_RANGE,
                              message: "statement takes \(expected) values, \(values.count) were given", sql: sql)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(handle, index)
            case .integer(let v): code = sqlite3_bind_int64(handle, index, v)
            case .real(let v): code = sqlite3_bind_double(handle, index, v)
            case .text(let v):
                // The explicit byte length keeps a NUL inside the text (with -1 SQLite stops at it).
                code = sqlite3_bind_text64(handle, index, v, sqlite3_uint64(v.utf8.count), csqlite_transient(),
                                           UInt8(SQLITE_UTF8))
            case .blob(let v):
                code = v.withUnsafeBytes { raw in
                    // A zero-length blob must still be a blob, not NULL: bind an empty one explicitly.
                    raw.count == 0
                        ? sqlite3_bind_zeroblob(handle, index, 0)
                        : sqlite3_bind_blob64(handle, index, raw.baseAddress, sqlite3_uint64(raw.count), csqlite_transient())
                }
            }
            guard code == SQLITE_OK else { throw connection.error(code, sql: sql) }
        }
    }

    /// Advances to the next row.
    /// - Returns: `true` when a row is ready to read, `false` when the statement is done.
    /// - Throws: ``SQLiteError`` on failure (constraint, busy, I/O, corruption).
    @discardableResult
    package func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let error = connection.error(code, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Whether column `index` of the current row is NULL.
    package func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

    /// Column `index` of the current row as an integer.
    package func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

    /// Column `index` of the current row as an `Int`.
    package func int(_ index: Int32) -> Int { Int(sqlite3_column_int64(handle, index)) }

    /// Column `index` of the current row as a double.
    package func double(_ index: Int32) -> Double { sqlite3_column_double(handle, index) }

    /// Column `index` of the current row as text (empty when NULL).
    package func string(_ index: Int32) -> String {
        guard let text = sqlite3_column_text(handle, index) else { return "" }
        // By byte count, not up to the first NUL, so text with a NUL inside reads back whole.
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Column `index` of the current row as text, or `nil` when NULL.
    package func optionalString(_ index: Int32) -> String? {
        isNull(index) ? nil : string(index)
    }

    /// Column `index` of the current row as bytes (empty when NULL).
    package func data(_ index: Int32) -> Data {
        let count = Int(sqlite3_column_bytes(handle, index))
        guard count > 0, let bytes = sqlite3_column_blob(handle, index) else { return Data() }
        return Data(bytes: bytes, count: count)
    }

    /// Reads column `index` of the current row as raw bytes without copying.
    /// - Parameters:
    ///   - index: The column.
    ///   - body: Reads the bytes; they are valid only during the call.
    /// - Returns: What `body` returns.
    package func withBlob<T>(_ index: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let bytes = sqlite3_column_blob(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        return try body(UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : count))
    }
}

@available(*, unavailable)
extension Statement: Sendable {}
