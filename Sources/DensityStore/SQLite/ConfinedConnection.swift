internal import Synchronization

/// A connection and the lock that confines it: the connection is reached only through
/// ``withLock(_:)``, so one thread at a time uses it.
///
/// `@unchecked Sendable` is safe: the only stored connection is private, read and replaced only
/// while holding the mutex, and ``withLock(_:)`` hands it to its body while holding the mutex, so
/// no two threads use it at once (SQLite's NOMUTEX mode asks exactly this of its caller); the body
/// cannot keep it, since it is not Sendable and the lock is released only when the body returns.
final class ConfinedConnection: @unchecked Sendable {
    private let lock = Mutex(())
    private var connection: Connection

    /// Confines `connection`, which nothing else may hold.
    init(_ connection: Connection) {
        self.connection = connection
    }

    /// Runs `body` with the connection, one caller at a time.
    func withLock<T>(_ body: (Connection) throws -> T) rethrows -> T {
        try lock.withLock { _ in try body(connection) }
    }

    /// Runs `body` with the connection, one caller at a time; when `body` throws and `reopen`
    /// gives a new connection for its error, the new one replaces the connection (for every later
    /// caller too) and `body` runs again on it, without letting the lock go in between.
    /// - Parameters:
    ///   - body: The work; it may run more than once, each time from its start.
    ///   - reopen: Given what `body` threw and how many times it was run again so far: a new
    ///     connection to run it again on, or `nil` to throw the error.
    func withLock<T>(_ body: (Connection) throws -> T, reopen: (_ error: any Error, _ retries: Int) throws -> Connection?) throws -> T {
        try lock.withLock { _ in
            var retries = 0
            while true {
                do {
                    return try body(connection)
                } catch {
                    guard let fresh = try reopen(error, retries) else { throw error }
                    connection = fresh
                    retries += 1
                }
            }
        }
    }
}
