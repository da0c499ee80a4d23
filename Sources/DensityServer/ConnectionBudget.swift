import HummingbirdCore
import Synchronization
#if os(Linux)
import CMalloc
#endif

/// At most ``limit`` connections at once (more wait in the kernel's accept queue until one closes),
/// and the memory of a burst given back: once a second (``trimWhenIdle()``), when no connection is
/// open and some have closed since the last look, the C library's free memory is returned to the
/// system (`malloc_trim`), so that a flood of slow clients leaves the resident size where it was.
final class ConnectionBudget: AvailableConnectionsDelegate {
    /// The most connections open at once.
    let limit: Int

    /// Connections open now, and closed since the last trim.
    private let counts = Mutex((open: 0, closed: 0))

    /// A budget of `limit` connections.
    init(limit: Int) {
        self.limit = limit
    }

    func connectionOpened() {
        counts.withLock { $0.open += 1 }
    }

    func connectionClosed() {
        counts.withLock { counts in
            counts.open -= 1
            counts.closed += 1
        }
    }

    func isAcceptingNewConnections() -> Bool {
        counts.withLock { $0.open } < limit
    }

    /// Until cancelled: once a second, gives free memory back when the server has gone idle.
    func trimWhenIdle() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let idle = counts.withLock { counts in
                guard counts.open == 0, counts.closed > 0 else { return false }
                counts.closed = 0
                return true
            }
            #if os(Linux)
            if idle { malloc_trim(0) }
            #endif
        }
    }
}
