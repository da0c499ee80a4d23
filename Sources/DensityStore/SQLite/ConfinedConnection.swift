internal import Synchronization

/// A connection and the lock that confines it: the connection is reached only through
/// ``withLock(_:)``, so one thread at a time uses it.
///
/// `@unchecked Sendable` is safe: the only stored connection is private, and ``withLock(_:)`` hands
/// it to its body while holding the mutex, so no two threads use it at once (SQLite's NOMUTEX
/// mode asks exactly this of its caller); the body cannot keep it, since it is not Sendable and
/// the lock is released only when the body returns.
final class ConfinedConnection: @unchecked Sendable {
    private let lock = Mutex(())
    private let connection: Connection

    /// Confines `connection`, which nothing else may hold.
    init(_ connection: Connection) {
        self.connection = connection
    }

    /// Runs `body` with the connection, one caller at a time.
    func withLock<T>(_ body: (Connection) throws -> T) rethrows -> T {
        try lock.withLock { _ in try body(connection) }
    }
}
