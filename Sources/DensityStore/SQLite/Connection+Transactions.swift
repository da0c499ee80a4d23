/// How a transaction takes its lock.
///
/// Related SQLite documentation: <https://www.sqlite.org/lang_transaction.html>
package enum TransactionKind: String, Sendable {
    /// Takes locks as statements need them.
    case deferred = "DEFERRED"
    /// Takes the write lock at once: the kind for every write.
    case immediate = "IMMEDIATE"
    /// Takes the write lock at once and keeps readers out (in rollback-journal mode).
    case exclusive = "EXCLUSIVE"
}

extension Connection {
    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    ///
    /// Nested calls run in a savepoint instead (see ``inSavepoint(_:)``).
    /// - Parameters:
    ///   - kind: The locking kind; writes use `.immediate`.
    ///   - body: The work.
    /// - Returns: What `body` returns.
    /// - Throws: The first error: `body`'s, or the commit's.
    package func inTransaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        if isInTransaction { return try inSavepoint(body) }
        try execute("BEGIN \(kind.rawValue) TRANSACTION")
        let value: T
        do {
            value = try body()
        } catch {
            try? execute("ROLLBACK TRANSACTION")
            throw error
        }
        do {
            try execute("COMMIT TRANSACTION")
        } catch {
            // A failed COMMIT (disk full, I/O error) may leave the transaction open: close it.
            if isInTransaction { try? execute("ROLLBACK TRANSACTION") }
            throw error
        }
        return value
    }

    /// Runs `body` in a savepoint; opens a transaction when none is open.
    ///
    /// On failure the savepoint is rolled back and released, so the enclosing transaction
    /// continues as if `body` never ran.
    /// - Parameter body: The work.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, or a SQLite error.
    package func inSavepoint<T>(_ body: () throws -> T) throws -> T {
        if !isInTransaction { return try inTransaction(.immediate, body) }
        try execute("SAVEPOINT density")
        do {
            let value = try body()
            try execute("RELEASE SAVEPOINT density")
            return value
        } catch {
            try? execute("ROLLBACK TRANSACTION TO SAVEPOINT density")
            try? execute("RELEASE SAVEPOINT density")
            throw error
        }
    }
}
