internal import CSQLite

/// An error reported by SQLite, with its extended result code and message.
///
/// Related SQLite documentation: <https://www.sqlite.org/rescode.html>
package struct SQLiteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The extended result code, such as `SQLITE_CONSTRAINT_UNIQUE` (2067).
    package let code: Int32
    /// The message SQLite gave, read right after the failing call.
    package let message: String
    /// The SQL being run, when there was one.
    package let sql: String?

    /// Creates an error from its parts.
    /// - Parameters:
    ///   - code: The extended result code.
    ///   - message: What SQLite said.
    ///   - sql: The statement that failed, if any.
    package init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (the low 8 bits of ``code``), such as `SQLITE_CONSTRAINT` (19).
    package var primaryCode: Int32 { code & 0xFF }

    /// Whether another connection holds a lock (`SQLITE_BUSY` or `SQLITE_LOCKED`).
    package var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    /// Whether the file is not a database or is damaged (`SQLITE_NOTADB` or `SQLITE_CORRUPT`).
    package var isNotADatabase: Bool { primaryCode == SQLITE_NOTADB || primaryCode == SQLITE_CORRUPT }

    /// Whether the disk or the database's size limit is full (`SQLITE_FULL`).
    package var isFull: Bool { primaryCode == SQLITE_FULL }

    /// A one-line account: SQLite's message, its code name, and the statement if any.
    package var description: String {
        let name = String(cString: sqlite3_errstr(code))
        var text = "SQLite error \(code) (\(name)): \(message)"
        if let sql {
            let oneLine = sql.split(whereSeparator: \.isNewline).joined(separator: " ")
            text += " — in: \(oneLine.prefix(200))"
        }
        return text
    }
}
