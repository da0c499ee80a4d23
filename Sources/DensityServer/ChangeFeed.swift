import DensityStore
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// `GET /api/events`: server-sent events, one `data: N` each time a store changes, and a comment
/// every 15 s to keep the connection open. One watcher (``watch()``) polls SQLite's
/// `PRAGMA data_version` of every store on a handle of its own twice a second, from the start (so a change that
/// lands while a stream is being admitted is still counted), and notices the file replaced; each
/// stream checks the watcher's count four times a second. At most
/// ``limit`` streams at once (503 beyond); a stream's slot is freed the moment its connection
/// closes (``ConnectionCloser`` closes it when the client goes away). Streams end when the server
/// shuts down (SIGTERM, Ctrl-C), so that it stops at once.
final class ChangeFeed: Sendable {
    /// The most streams open at once.
    static let limit = 32
    /// How often a stream looks for a change.
    static let tick = Duration.milliseconds(250)
    /// How often the watcher polls the store.
    static let poll = Duration.milliseconds(500)

    /// Where the watcher reads: every store served.
    let pools: [StorePool]
    /// Streams open now.
    private let open = Mutex(0)
    /// Changes the watcher has seen since the server started.
    private let changes = Mutex(0)
    /// The watcher's handle on each store, the file it is on, and the last `data_version` it read there.
    private let watched: Mutex<[(store: DensityStore?, file: StoreFileIdentity?, version: Int64?)]>

    /// A feed over the stores of `pools`.
    init(pools: [StorePool]) {
        self.pools = pools
        watched = Mutex(Array(repeating: (nil, nil, nil), count: pools.count))
    }

    /// Starts a stream on `channel`.
    /// - Throws: ``RequestError`` (503) when ``limit`` streams are open.
    func stream(on channel: any Channel) throws -> Response {
        let admitted = open.withLock { count in
            guard count < Self.limit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw RequestError(.serviceUnavailable, "too many live pages open (\(Self.limit)); close some, and this page tries again by itself")
        }
        let slot = Slot(feed: self)
        channel.closeFuture.whenComplete { _ in slot.release() }
        let body = ResponseBody { [self] writer in
            defer { slot.release() }
            var seen = changes.withLock { $0 }
            var sent = 0
            var quiet = Duration.zero
            try await writer.write(ByteBuffer(string: "retry: 2000\ndata: 0\n\n"))
            while !Task.isCancelled, !Task.isShuttingDownGracefully, channel.isActive {
                try await Task.sleep(for: Self.tick)
                let now = changes.withLock { $0 }
                if now != seen {
                    seen = now
                    sent += 1
                    quiet = .zero
                    try await writer.write(ByteBuffer(string: "data: \(sent)\n\n"))
                } else {
                    quiet += Self.tick
                    if quiet >= .seconds(15) {
                        quiet = .zero
                        try await writer.write(ByteBuffer(string: ": alive\n\n"))
                    }
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: Self.headers, body: body)
    }

    /// The headers of a stream (and of a HEAD on it).
    static var headers: HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        return headers
    }

    /// The watcher: until cancelled, polls the store and counts its changes.
    func watch() async {
        while !Task.isCancelled {
            for index in pools.indices where (try? await pools[index].blocking({ [self] in checkForChange(index) })) == true {
                changes.withLock { $0 += 1 }
            }
            try? await Task.sleep(for: Self.poll)
        }
    }

    /// Whether the store of `pools[index]` changed since the last check: another `data_version`,
    /// or another file at the path (a mirror replaced, a store copied in). Blocks; runs on the pool's threads.
    private func checkForChange(_ index: Int) -> Bool {
        watched.withLock { all in
            let path = pools[index].path
            var state = all[index]
            defer { all[index] = state }
            let file = StoreFileIdentity(path: path)
            var changed = false
            if file != state.file {
                changed = state.file != nil || state.version != nil
                state = (nil, file, nil)
            }
            guard file != nil else { return changed }
            if state.store == nil { state.store = try? DensityStore(path: path, readOnly: true) }
            guard let version = try? state.store?.dataVersion() else {
                state.store = nil  // reopened on the next poll
                return changed
            }
            if let last = state.version, last != version { changed = true }
            state.version = version
            return changed
        }
    }
}

/// One admitted stream's place among ``ChangeFeed/limit``, given back once, whichever comes first:
/// the connection closing or the stream ending.
private final class Slot: Sendable {
    let feed: ChangeFeed
    private let held = Mutex(true)

    init(feed: ChangeFeed) {
        self.feed = feed
    }

    func release() {
        if held.withLock({ held in defer { held = false }; return held }) { feed.releaseSlot() }
    }
}

extension ChangeFeed {
    /// Gives a stream's slot back.
    fileprivate func releaseSlot() {
        open.withLock { $0 -= 1 }
    }
}
