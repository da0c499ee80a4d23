import Hummingbird

/// GET and HEAD only: any other method is 405 (`Allow: GET, HEAD`), on every path. A HEAD gets the
/// GET's status and headers without its body. A request that carries a body (the server reads none)
/// is answered with `Connection: close`, and ``ConnectionCloser`` ends the connection after the
/// answer instead of leaving the body unread on an open socket.
struct ReadOnlyMethods<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        switch request.method {
        case .get:
            response = try await next(request, context)
        case .head:
            response = try await next(request, context).createHeadResponse()
        default:
            response = Responses.error("method \(request.method.rawValue) is not allowed: this server only reads (GET or HEAD)",
                                       status: .methodNotAllowed)
            response.headers[.allow] = "GET, HEAD"
        }
        let length = request.headers[.contentLength].flatMap { Int($0) } ?? 0
        if length > 0 || request.headers[.transferEncoding] != nil {
            response.headers[.connection] = "close"
        }
        return response
    }
}
