import HTTPTypes

/// A request the server refuses: a status and a message; ``parameter`` names the query parameter
/// at fault. Answered as `{"error": message, "parameter": name}`.
struct RequestError: Error, Sendable {
    /// The HTTP status: 400, 404, 405, 503.
    let status: HTTPResponse.Status
    /// What was wrong and how to fix it.
    let message: String
    /// The query parameter at fault, if one is.
    let parameter: String?

    /// A refusal.
    init(_ status: HTTPResponse.Status, _ message: String, parameter: String? = nil) {
        self.status = status
        self.message = message
        self.parameter = parameter
    }

    /// 400 for a bad query parameter.
    static func bad(_ parameter: String, _ message: String) -> RequestError {
        RequestError(.badRequest, message, parameter: parameter)
    }
}
