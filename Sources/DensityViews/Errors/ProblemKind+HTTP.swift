public import DensityStore

extension ProblemKind {
    /// The HTTP status a web front end answers a failure of this kind with: the one mapping, so
    /// a server needs one catch for every library error (``DensityProblem``).
    ///
    /// A missing run is 404, a bad request 400, a conflict 409; a busy or unavailable store is a
    /// server-side 503, and a damaged store or a fault of the library a 500.
    public var httpStatus: Int {
        switch self {
        case .notFound: 404
        case .invalidInput: 400
        case .conflict: 409
        case .busy, .unavailable: 503
        case .damaged, .internal: 500
        }
    }
}
