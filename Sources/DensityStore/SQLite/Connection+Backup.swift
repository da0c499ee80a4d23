internal import CSQLite
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

// MARK: - Online backup

extension Connection {
    /// Copies the whole of `source`'s main database into this connection's main database with
    /// SQLite's online backup API, in one step: the copy is one consistent committed state of the
    /// source, read in one read transaction, so (in WAL mode) a writer of the source goes on
    /// committing meanwhile.
    ///
    /// A source briefly locked (`SQLITE_BUSY`, `SQLITE_LOCKED`) is waited for, up to about 5 s.
    /// - Parameter source: The connection to copy from.
    /// - Throws: ``SQLiteError`` when the copy fails; this database is then left in an unspecified
    ///   state and should be discarded.
    ///
    /// Related SQLite documentation: <https://www.sqlite.org/backup.html>
    package func copy(from source: Connection) throws(SQLiteError) {
        guard let backup = sqlite3_backup_init(handle, "main", source.handle, "main") else {
            throw error(sqlite3_errcode(handle))
        }
        var code: Int32 = SQLITE_OK
        for _ in 0..<500 {
            code = sqlite3_backup_step(backup, -1)
            guard code == SQLITE_BUSY || code == SQLITE_LOCKED else { break }
            usleep(10_000)
        }
        let finished = sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE else {
            throw SQLiteError(code: code, message: String(cString: sqlite3_errstr(code)) + " (backing up '\(source.path)')")
        }
        guard finished == SQLITE_OK else { throw error(finished) }
    }
}
