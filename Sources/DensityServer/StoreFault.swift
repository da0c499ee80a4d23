import DensityStore

/// The store the server was started on could not be opened: whatever the library says of it (not
/// a store, damaged, unreadable, locked), it is the server's fault, never the request's, so it
/// answers 5xx whatever kind the library gives it.
struct StoreFault: Error, Sendable, CustomStringConvertible {
    /// What opening the store threw.
    let cause: any DensityProblem

    var description: String { cause.description }
}
