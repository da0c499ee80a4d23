import Hummingbird

/// Lets a browser open the live stream only from this server's own pages: a request whose `Origin`
/// is another site gets 403 before it takes one of the streams' slots. Same-origin requests carry
/// no `Origin`, or this server's own; a client that is not a browser sends none.
struct SameOrigin<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let origin = request.headers[.origin] {
            let own = request.head.authority.map { "http://\($0)".lowercased() }
            guard origin.lowercased() == own else {
                return Responses.error("a page from \(origin) may not open this server's live stream; open the server's own page (http://\(request.head.authority ?? "localhost")/)",
                                       status: .forbidden)
            }
        }
        return try await next(request, context)
    }
}
