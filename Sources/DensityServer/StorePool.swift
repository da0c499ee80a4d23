import DensityStore
import Foundation
import NIOPosix
import Synchronization

/// A bounded pool of read-only handles on the store, reused across requests, and the threads that
/// use them: SQLite calls block, so every read runs on one of ``size`` threads of the pool's own,
/// never on the server's event loops, and takes an idle handle (opening one only when none is
/// idle, so at most ``size`` are ever open). Each read is one call on a handle, which keeps its
/// answer consistent while a writer appends or compacts. Before each read the file's identity is
/// checked: a store deleted or moved away is a ``StoreUnavailable`` (503), and one replaced by
/// another file drops the handles on the old one. Never writes.
final class StorePool: Sendable {
    /// The store file.
    let path: String
    /// The most reads at once, and so the most handles open.
    let size: Int
    /// How many times a read that met a busy store (a writer's VACUUM) is tried again.
    static let retries = 5

    private let threads: NIOThreadPool
    /// Handles not in use, with the file they were opened on.
    private let idle = Mutex<[(store: DensityStore, file: StoreFileIdentity)]>([])

    /// A pool of at most `size` handles on `path`; nothing is opened until the first read.
    init(path: String, size: Int) {
        self.path = path
        self.size = size
        threads = NIOThreadPool(numberOfThreads: size)
        threads.start()
    }

    /// Runs `body` with a read-only handle, on the pool's threads; tries again briefly when the
    /// store is busy (SQLITE_BUSY, SQLITE_LOCKED) or was changed under the reader.
    /// - Throws: ``StoreUnavailable`` when the file is gone, ``StoreFault`` when it cannot be opened,
    ///   what `body` throws.
    func read<T: Sendable>(_ body: @escaping @Sendable (DensityStore) throws -> T) async throws -> T {
        try await threads.runIfActive { [self] in
            var attempt = 0
            while true {
                let (store, file): (DensityStore, StoreFileIdentity)
                do {
                    (store, file) = try checkOut()
                } catch let error as any DensityProblem where error.kind == .busy && attempt < Self.retries {
                    attempt += 1
                    usleep(UInt32(20_000 * attempt))
                    continue
                } catch let error as any DensityProblem {
                    throw StoreFault(cause: error)  // opening the server's own store: never the request's fault
                }
                do {
                    let value = try body(store)
                    checkIn(store, file)
                    return value
                } catch let error as any DensityProblem where error.kind == .busy && attempt < Self.retries {
                    attempt += 1  // the handle is dropped: the next try opens a fresh one
                    usleep(UInt32(20_000 * attempt))
                } catch let error as any DensityProblem where [.busy, .unavailable, .internal].contains(error.kind) {
                    throw error  // the store, not the request: the handle is dropped
                } catch {
                    checkIn(store, file)  // the request's fault, or the store's data: the handle is sound
                    throw error
                }
            }
        }
    }

    /// Runs a blocking `body` on the pool's threads, without a handle.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(body)
    }

    /// An idle handle on the file at ``path`` now, or a new one.
    private func checkOut() throws -> (DensityStore, StoreFileIdentity) {
        guard let file = StoreFileIdentity(path: path) else { throw StoreUnavailable(path: path) }
        let reused = idle.withLock { handles -> DensityStore? in
            handles.removeAll { $0.file != file }  // the file was replaced: its handles go
            return handles.popLast()?.store
        }
        return (try reused ?? DensityStore(path: path, readOnly: true), file)
    }

    /// Returns a handle to the idle ones.
    private func checkIn(_ store: DensityStore, _ file: StoreFileIdentity) {
        idle.withLock { handles in
            if handles.count < size { handles.append((store, file)) }
        }
    }
}
