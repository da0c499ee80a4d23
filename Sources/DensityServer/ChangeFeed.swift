import DensityStore
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// `GET /api/events`: server-sent events, one `data: N` each time the store changes (SQLite's
/// `PRAGMA data_version` on a handle of the stream's own, polled twice a second), and a comment
/// every 15 s to keep the connection open. At most ``limit`` streams at once (503 beyond).
final class ChangeFeed: Sendable {
    /// The most streams open at once.
    static let limit = 32
    /// Streams open now.
    private let open = Mutex(0)

    /// Starts a stream.
    /// - Throws: ``RequestError`` (503) when ``limit`` streams are open.
    func stream(reader: StoreReader) throws -> Response {
        let admitted = open.withLock { count in
            guard count < Self.limit else { return false }
            count += 1
            return true
        }
        guard admitted else { throw RequestError(.serviceUnavailable, "too many live pages open (\(Self.limit)); close some") }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        let body = ResponseBody { [self] writer in
            defer { open.withLock { $0 -= 1 } }
            var store = try? reader.open()
            var last = try? store?.dataVersion()
            var changes = 0
            var quiet = 0
            try await writer.write(ByteBuffer(string: "retry: 2000\ndata: 0\n\n"))
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(500))
                if store == nil { store = try? reader.open() }
                let version = try? store?.dataVersion()
                if version == nil { store = nil }  // reopen on the next tick
                if let version, version != last {
                    last = version
                    changes += 1
                    quiet = 0
                    try await writer.write(ByteBuffer(string: "data: \(changes)\n\n"))
                } else {
                    quiet += 1
                    if quiet % 30 == 0 { try await writer.write(ByteBuffer(string: ": alive\n\n")) }
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
