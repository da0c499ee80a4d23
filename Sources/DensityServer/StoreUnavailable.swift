/// The store file is no longer at its path: deleted or moved while the server ran.
struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    /// The path the server was started on.
    let path: String

    var description: String {
        "the store '\(path)' is gone: it was deleted or moved while the server ran. Put it back, or restart the server with --db PATH"
    }
}
