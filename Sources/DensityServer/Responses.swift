import DensityViews
import Hummingbird
import NIOCore

/// The server's answers: JSON as the CLI prints it, and pages, all with headers that keep them
/// local (no caching, no sniffing, nothing loaded from elsewhere).
enum Responses {
    /// A JSON answer, as the CLI prints it (with its final newline).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        respond(value.text + "\n", type: "application/json; charset=utf-8", status: status)
    }

    /// A JSON error: `{"error": message, "parameter": name}`.
    static func error(_ message: String, parameter: String? = nil, status: HTTPResponse.Status) -> Response {
        json(QueryJSON.error(message, parameter: parameter), status: status)
    }

    /// A page or a fragment of one.
    static func html(_ text: String) -> Response {
        respond(text, type: "text/html; charset=utf-8", status: .ok)
    }

    /// `text` with the local-only headers.
    static func respond(_ text: String, type: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: headers(type: type), body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// The headers of every answer of `type`.
    static func headers(type: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.contentSecurityPolicy] = Pages.contentSecurityPolicy
        return headers
    }
}
