import DensityStore
import Dispatch
import Foundation

/// Opens the store read-only for each request, off the server's threads: SQLite calls block, and a
/// connection of its own per request keeps every answer consistent while a writer appends or
/// compacts. Never writes.
struct StoreReader: Sendable {
    /// The store file.
    let path: String

    /// How many times a read that met a busy store (a writer's VACUUM) is tried again.
    static let retries = 5

    /// A new read-only handle on the store.
    func open() throws -> DensityStore {
        try DensityStore(path: path, readOnly: true)
    }

    /// Runs `body` with a fresh read-only handle on a background thread; tries again briefly when
    /// the store is busy (SQLITE_BUSY, SQLITE_LOCKED) or was changed under the reader.
    func read<T: Sendable>(_ body: @escaping @Sendable (DensityStore) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    var attempt = 0
                    while true {
                        do {
                            return try body(try open())
                        } catch let error as any DensityProblem where error.kind == .busy && attempt < Self.retries {
                            attempt += 1
                            usleep(UInt32(20_000 * attempt))
                        }
                    }
                })
            }
        }
    }
}
