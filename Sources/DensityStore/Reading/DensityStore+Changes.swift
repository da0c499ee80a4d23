extension DensityStore {
    /// A number that changes whenever another connection has committed to the store since the
    /// last call on this handle: SQLite's `PRAGMA data_version`. It costs no read of the
    /// store's pages, so a live view can poll it often and read the store only when it changed.
    ///
    /// Related SQLite documentation: <https://sqlite.org/pragma.html#pragma_data_version>
    /// - Returns: The connection's current data version.
    public func dataVersion() throws -> Int64 {
        try withConnection { try Self.dataVersion($0) }
    }

    /// The connection's `PRAGMA data_version`: unchanged as long as no other connection has
    /// committed, whatever this one writes.
    static func dataVersion(_ connection: Connection) throws -> Int64 {
        try connection.queryFirst("PRAGMA data_version") { $0.int64(0) } ?? 0
    }
}
