import HTTPTypes
import Hummingbird

/// Answers only requests addressed to this server by a name it was told: the loopback names
/// (`localhost`, `127.0.0.1`, `[::1]`), the address it is bound to, and each `--allow-host`.
/// A page on another site whose name an attacker points at 127.0.0.1 (DNS rebinding) sends its own
/// name as `Host`, and gets 421; a request with no `Host`, or with two, gets 400. The port is not
/// checked: an SSH forward to another local port (`ssh -L 9000:localhost:8765`) keeps working, and
/// a name is what tells a rebinding page apart.
struct HostAllowList<Context: RequestContext>: RouterMiddleware {
    /// The names always answered.
    static var loopback: Set<String> { ["localhost", "127.0.0.1", "[::1]"] }

    /// The host names answered, lowercased, IPv6 addresses in brackets.
    let names: Set<String>

    /// The loopback names, `bound` (the address given to bind) and `allowed`.
    init(bound: String, allowed: [String]) {
        names = Self.loopback.union(([bound] + allowed).map(Self.normalized))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let extra = request.headers[values: HTTPField.Name("Host")!].count  // the first Host is the authority
        guard let authority = request.head.authority, extra == 0 else {
            let count = (request.head.authority == nil ? 0 : 1) + extra
            return Responses.error("a request needs exactly one Host header; this one has \(count)", status: .badRequest)
        }
        guard let name = Self.name(ofAuthority: authority), names.contains(name) else {
            return Responses.error("this server does not answer to the name in Host: \(authority). It answers to \(names.sorted().joined(separator: ", ")); to reach it under another name on purpose, start it with --allow-host NAME",
                                   status: .misdirectedRequest)
        }
        return try await next(request, context)
    }

    /// A name as compared: lowercased, without a final dot, an IPv6 address in brackets.
    static func normalized(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if name.contains(":"), !name.hasPrefix("[") { name = "[\(name)]" }
        return name
    }

    /// The host of `host[:port]` or `[v6]:port`, normalized; nil when the port is not a number.
    static func name(ofAuthority authority: String) -> String? {
        var host = Substring(authority)
        var port: Substring = ""
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return nil }
                port = rest.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty, port.allSatisfy { $0.isASCII && $0.isNumber }, port.count <= 5 else { return nil }
        return normalized(String(host))
    }
}
