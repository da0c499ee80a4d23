import HummingbirdCore
#if os(Linux)
import CMalloc
#endif

/// At most ``limit`` connections at once (more wait in the kernel's accept queue until one closes),
/// and the memory of a burst given back: when no connection is left open and at least ``burst``
/// have closed since the last time, the C library's free memory is returned to the system
/// (`malloc_trim`), so that a flood of slow clients leaves the server's resident size where it was.
struct ConnectionBudget: AvailableConnectionsDelegate {
    /// The most connections open at once.
    let limit: Int
    /// How many connections closed count as a burst worth trimming after.
    static let burst = 32

    private var open = 0
    private var closedSinceTrim = 0

    /// A budget of `limit` connections.
    init(limit: Int) {
        self.limit = limit
    }

    mutating func connectionOpened() {
        open += 1
    }

    mutating func connectionClosed() {
        open -= 1
        closedSinceTrim += 1
        guard open == 0, closedSinceTrim >= Self.burst else { return }
        closedSinceTrim = 0
        #if os(Linux)
        malloc_trim(0)
        #endif
    }

    func isAcceptingNewConnections() -> Bool {
        open < limit
    }
}
