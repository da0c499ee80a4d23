import Hummingbird
import NIOCore

/// A request's context: Hummingbird's core storage (path parameters, logger) and the connection
/// the request came on, so that an event stream can end when its client goes away.
struct ServeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The request's connection.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
