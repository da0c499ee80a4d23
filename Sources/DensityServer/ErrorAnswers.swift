import DensityStore
import DensityViews
import Hummingbird

/// The one place where an error becomes a status: the request's faults are 4xx (400 names the
/// parameter, 404 an unknown run or page), the server's own (a store that is gone, unreadable or
/// damaged, an I/O error) are 5xx. Every answer is JSON: `{"error": …, "parameter": …}`.
struct ErrorAnswers<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, path: request.uri.path)
        }
    }

    /// The answer to `error`, met while answering a request for `path`.
    static func response(for error: any Error, path: String) -> Response {
        switch error {
        case let error as RequestError:
            return Responses.error(error.message, parameter: error.parameter, status: error.status)
        case let error as HTTPError where error.status == .notFound:
            return Responses.error("no such page: \(path); the pages are / and /runs/RUN, the API /api/runs, /api/stores and /api/runs/RUN/{show,diff,trend,dead,histogram,bin,summaries}",
                                   status: .notFound)
        case let error as HTTPError:
            return Responses.error(error.body ?? error.status.reasonPhrase, status: error.status)
        case let error as StoreUnavailable:
            return Responses.error(error.description, status: .serviceUnavailable)
        case let error as StoreFault:
            return error.cause.kind == .busy
                ? Responses.error(error.description, status: .serviceUnavailable) : serverFault(error.description)
        case let error as any DensityProblem:
            // The library says whose fault it is; the kind's status is the one mapping (ProblemKind.httpStatus).
            let status = HTTPResponse.Status(code: error.kind.httpStatus)
            guard status.code < 500 || error.kind == .busy else { return serverFault(error.description) }
            return Responses.error(error.description, parameter: error is ComponentError ? "component" : nil, status: status)
        default:
            return serverFault("\(error)")
        }
    }

    /// 500: the store could not be read, through no fault of the request.
    static func serverFault(_ detail: String) -> Response {
        Responses.error("the server could not read the store: \(detail). Check the file with `density verify`, then restart the server",
                        status: .internalServerError)
    }
}
