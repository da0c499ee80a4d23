internal import CSQLite

/// How many transactions a connection has begun since counting started.
package final class TransactionCount {
    /// Transactions begun: each `BEGIN`, and each statement run outside a transaction (SQLite
    /// wraps it in one of its own).
    package private(set) var count = 0

    fileprivate func statementStarted(_ statement: OpaquePointer) {
        guard let text = sqlite3_sql(statement) else { return }
        let sql = String(cString: text)
        if sql.hasPrefix("--") { return }  // a trigger's program runs inside its statement
        if sql.uppercased().hasPrefix("BEGIN") || sqlite3_get_autocommit(sqlite3_db_handle(statement)) != 0 {
            count += 1
        }
    }
}

extension Connection {
    /// Counts from now on the transactions this connection begins (``TransactionCount``), by
    /// SQLite's statement trace, until ``stopCountingTransactions()``.
    ///
    /// Related SQLite documentation: <https://sqlite.org/c3ref/trace_v2.html>
    /// - Returns: The count, updated as statements start.
    package func countTransactions() -> TransactionCount {
        let counter = TransactionCount()
        transactionCount = counter
        sqlite3_trace_v2(handle, UInt32(SQLITE_TRACE_STMT), { _, context, statement, _ in
            guard let context, let statement else { return 0 }
            Unmanaged<TransactionCount>.fromOpaque(context).takeUnretainedValue()
                .statementStarted(OpaquePointer(statement))
            return 0
        }, Unmanaged.passUnretained(counter).toOpaque())
        return counter
    }

    /// Stops the count ``countTransactions()`` started.
    package func stopCountingTransactions() {
        sqlite3_trace_v2(handle, 0, nil, nil)
        transactionCount = nil
    }
}
