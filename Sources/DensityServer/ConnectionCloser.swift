import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Ends connections the server is done with (Hummingbird's own handler only reads and writes the
/// request and response parts):
/// - after a response that says `Connection: close` (to a request carrying a body the server does
///   not read), it shuts the output, so the client sees the end at once, and closes the connection
///   ``linger`` later, reading and dropping whatever of the body still arrives meanwhile;
/// - when the client closes its side during an event stream, it closes the connection at once,
///   which ends the stream and frees its slot (``ChangeFeed``).
final class ConnectionCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How long the rest of a refused body may still arrive before the connection is closed.
    static let linger = TimeAmount.seconds(2)

    /// The response being written said `Connection: close`.
    private var closeAfterResponse = false
    /// The response being written is an event stream.
    private var streaming = false
    /// The client has closed its side.
    private var inputClosed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            closeAfterResponse = head.headerFields[.connection]?.lowercased() == "close"
            streaming = head.headerFields[.contentType]?.hasPrefix("text/event-stream") ?? false
            context.write(data, promise: promise)
            if streaming, inputClosed { context.close(promise: nil) }
        case .body:
            context.write(data, promise: promise)
        case .end:
            streaming = false
            guard closeAfterResponse else { return context.write(data, promise: promise) }
            closeAfterResponse = false
            let channel = context.channel
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            written.futureResult.whenComplete { _ in
                channel.close(mode: .output, promise: nil)
                channel.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) }
            }
            context.writeAndFlush(data, promise: written)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event as? ChannelEvent == .some(.inputClosed) {
            inputClosed = true
            if streaming { return context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
