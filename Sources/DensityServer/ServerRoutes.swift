import DensityStore
import DensityViews
import Hummingbird

/// The server's routes on Hummingbird's `Router`: the pages, the JSON API and the page fragments,
/// each a path with a `:run` parameter where it names a run (percent-decoded, so any run name,
/// `..` included, is reachable as an encoded segment such as `/runs/%2E%2E`). No path is ever
/// mapped to a file; any other path is 404. In front of every route, in order:
/// ``ReadOnlyMethods``, ``HostAllowList``, ``ErrorAnswers``; the event stream adds ``SameOrigin``.
enum ServerRoutes {
    /// An endpoint of `/api/runs/RUN/`: the query it answers and the parameters it takes.
    typealias Endpoint = (name: String, allowed: Set<String>, answer: @Sendable (DensityStore, String, QueryParameters) throws -> JSONValue)

    /// The JSON endpoints about one run, as the CLI commands of the same names.
    static let endpoints: [Endpoint] = [
        ("show", ["step"], QueryEndpoints.show),
        ("diff", ["from", "to", "window"], QueryEndpoints.diff),
        ("trend", ["feature", "component", "every", "points"], QueryEndpoints.trend),
        ("dead", ["from", "to", "window", "last_vectors", "threshold"], QueryEndpoints.dead),
        ("histogram", ["step", "bins"], QueryEndpoints.histogram),
        ("bin", ["step", "bin", "bins", "limit"], QueryEndpoints.bin),
        ("summaries", [], QueryEndpoints.summaries),
    ]

    /// The router over `stores`, answering the names `hosts` allows.
    static func router(stores: ServedStores, feed: ChangeFeed, hosts: HostAllowList<ServeContext>) -> Router<ServeContext> {
        let router = Router(context: ServeContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: ReadOnlyMethods())
        router.add(middleware: hosts)
        router.add(middleware: ErrorAnswers())

        router.get("/") { request, _ in
            _ = try query(request, allowed: [])
            return Responses.html(SweepPage.html())
        }
        router.get("/runs/:run") { request, context in
            let shown = try run(context)
            _ = try query(request, allowed: [])
            let (pool, name) = try await stores.locate(shown)
            return Responses.html(Pages.run(try await pool.read { store in try store.read { try $0.run(named: name) } }, shownAs: shown))
        }
        router.get("/api/runs") { request, _ in
            _ = try query(request, allowed: [])
            return Responses.json(try await stores.runs())
        }
        router.get("/api/stores") { request, _ in
            _ = try query(request, allowed: [])
            return Responses.json(await stores.stores())
        }
        let events = router.group("/api/events").add(middleware: SameOrigin())
        events.get { request, context in
            _ = try query(request, allowed: [])
            return try feed.stream(on: context.channel)
        }
        events.head { request, _ in
            _ = try query(request, allowed: [])
            return Response(status: .ok, headers: ChangeFeed.headers)  // no stream, no slot taken
        }
        for endpoint in endpoints {
            router.get("/api/runs/:run/\(endpoint.name)") { request, context in
                let parameters = try query(request, allowed: endpoint.allowed)
                let (pool, name) = try await stores.locate(try run(context))
                return Responses.json(try await pool.read { try endpoint.answer($0, name, parameters) })
            }
        }
        router.get("/ui/runs/:run/panels") { request, context in
            _ = try query(request, allowed: [])
            let (pool, name) = try await stores.locate(try run(context))
            return Responses.html(try await pool.read { try Pages.panels($0, run: name) })
        }
        router.get("/ui/runs/:run/trend") { request, context in
            let parameters = try query(request, allowed: ["feature", "component", "every", "points"])
            let (pool, name) = try await stores.locate(try run(context))
            return Responses.html(try await pool.read { store in
                let trend = try QueryEndpoints.trendPoints(store, run: name, parameters)
                let label = trend.run.components == nil ? "\(trend.feature)" : "\(trend.component):\(trend.feature)"
                return ReportPanels.trend(run: name, feature: label, points: trend.points, windows: trend.windows, width: 920).xml
            })
        }
        return router
    }

    /// The run a path names, percent-decoded.
    static func run(_ context: ServeContext) throws -> String {
        URLDecoding.segment(try context.parameters.require("run"))
    }

    /// The request's query, decoded as a form, read strictly against `allowed`.
    static func query(_ request: Request, allowed: Set<String>) throws -> QueryParameters {
        try QueryParameters(URLDecoding.query(request.uri.query), allowed: allowed)
    }
}
