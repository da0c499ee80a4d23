import DensityStore
import DensityViews
import Foundation
import Hummingbird
import NIOCore

/// Every request: GET only (405 otherwise), a fixed set of routes (404 otherwise), no path ever
/// mapped to a file. Errors become JSON: 400 names the parameter, 404 an unknown run.
struct DensityResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    /// Opens the store per request.
    let reader: StoreReader
    /// Live connections to `/api/events`.
    let feed = ChangeFeed()

    func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .get else {
            var response = Self.json(QueryJSON.error("method \(request.method.rawValue) is not allowed: this server only reads (GET)"),
                                     status: .methodNotAllowed)
            response.headers[.allow] = "GET"
            return response
        }
        do {
            return try await route(request)
        } catch let error as RequestError {
            return Self.json(QueryJSON.error(error.message, parameter: error.parameter), status: error.status)
        } catch let error as StoreError {
            return Self.json(QueryJSON.error(error.description), status: HTTPResponse.Status(code: error.kind.httpStatus))
        } catch let error as SelectionError {
            // A run with nothing recorded yet has no such resource; any other selection is the request's fault.
            if case .noCheckpointYet = error { return Self.json(QueryJSON.error(error.description), status: .notFound) }
            return Self.json(QueryJSON.error(error.description), status: .badRequest)
        } catch let error as ComponentError {
            return Self.json(QueryJSON.error(error.description, parameter: "component"), status: .badRequest)
        } catch let error as QueryError {
            return Self.json(QueryJSON.error(error.description), status: .badRequest)
        } catch {
            return Self.json(QueryJSON.error("the store could not be read: \(error)"), status: .serviceUnavailable)
        }
    }

    /// Dispatches on the path's segments.
    func route(_ request: Request) async throws -> Response {
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map { segment in
            String(segment).removingPercentEncoding ?? String(segment)
        }
        let pairs = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        switch segments.count {
        case 0:
            return Self.html(Pages.runs())
        case 1 where segments[0] == "api":
            break
        case 2 where segments == ["api", "runs"]:
            _ = try QueryParameters(pairs, allowed: [])
            return Self.json(try await reader.read { try QueryEndpoints.runs($0) })
        case 2 where segments == ["api", "events"]:
            _ = try QueryParameters(pairs, allowed: [])
            return try feed.stream(reader: reader)
        case 2 where segments[0] == "runs":
            let name = segments[1]
            _ = try QueryParameters(pairs, allowed: [])
            let run = try await reader.read { store in try store.read { try $0.run(named: name) } }
            return Self.html(Pages.run(run))
        case 4 where segments[0] == "api" && segments[1] == "runs":
            return try await api(run: segments[2], endpoint: segments[3], pairs)
        case 4 where segments[0] == "ui" && segments[1] == "runs":
            return try await fragment(run: segments[2], name: segments[3], pairs)
        default:
            break
        }
        throw RequestError(.notFound, "no such page: \(request.uri.path); the pages are / and /runs/RUN, the API /api/runs and /api/runs/RUN/{show,diff,trend,dead,histogram,bin}")
    }

    /// `/api/runs/RUN/ENDPOINT`.
    func api(run: String, endpoint: String, _ pairs: [(String, String)]) async throws -> Response {
        let handler: @Sendable (DensityStore, String, QueryParameters) throws -> JSONValue
        let allowed: Set<String>
        switch endpoint {
        case "show": (handler, allowed) = (QueryEndpoints.show, ["step"])
        case "diff": (handler, allowed) = (QueryEndpoints.diff, ["from", "to", "window"])
        case "trend": (handler, allowed) = (QueryEndpoints.trend, ["feature", "component", "every", "points"])
        case "dead": (handler, allowed) = (QueryEndpoints.dead, ["from", "to", "window", "last_vectors", "threshold"])
        case "histogram": (handler, allowed) = (QueryEndpoints.histogram, ["step", "bins"])
        case "bin": (handler, allowed) = (QueryEndpoints.bin, ["step", "bin", "bins", "limit"])
        default:
            throw RequestError(.notFound, "no endpoint '\(endpoint)': use show, diff, trend, dead, histogram or bin")
        }
        let query = try QueryParameters(pairs, allowed: allowed)
        return Self.json(try await reader.read { try handler($0, run, query) })
    }

    /// `/ui/runs/RUN/{panels,trend}`: markup the run page inserts.
    func fragment(run: String, name: String, _ pairs: [(String, String)]) async throws -> Response {
        switch name {
        case "panels":
            _ = try QueryParameters(pairs, allowed: [])
            return Self.html(try await reader.read { try Pages.panels($0, run: run) })
        case "trend":
            let query = try QueryParameters(pairs, allowed: ["feature", "component", "every", "points"])
            return Self.html(try await reader.read { store in
                let trend = try QueryEndpoints.trendPoints(store, run: run, query)
                let label = trend.run.components == nil ? "\(trend.feature)" : "\(trend.component):\(trend.feature)"
                return ReportPanels.trend(run: run, feature: label, points: trend.points, windows: trend.windows, width: 920).xml
            })
        default:
            throw RequestError(.notFound, "no such fragment '\(name)'")
        }
    }

    // MARK: - Responses

    /// A JSON answer, as the CLI prints it (with its final newline).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        respond(value.text + "\n", type: "application/json; charset=utf-8", status: status)
    }

    /// A page or a fragment of one.
    static func html(_ text: String) -> Response {
        respond(text, type: "text/html; charset=utf-8", status: .ok)
    }

    /// The answer with headers that keep it local: no caching, no sniffing, nothing loaded from elsewhere.
    static func respond(_ text: String, type: String, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.contentSecurityPolicy] = Pages.contentSecurityPolicy
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
