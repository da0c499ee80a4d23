/// One version of the store's schema: a file of `Migrations/`.
public struct Migration: Sendable, Hashable {
    /// The version, the file name's `NNNN` prefix; versions sort as strings.
    public let version: String
    /// The file name without its prefix and `.sql`.
    public let name: String
    /// The SQL script.
    public let sql: String

    /// A migration from its parts.
    /// - Parameters:
    ///   - version: The `NNNN` version.
    ///   - name: A snake_case name.
    ///   - sql: The script.
    public init(version: String, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The CRC-32 of the SQL text, as 8 hex digits: recorded when applied, to detect edits.
    public var checksum: String {
        let value = CRC32.checksum(Array(sql.utf8))
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Every migration of this build, from `Migrations/`, in order.
    public static let all: [Migration] = embeddedMigrationFiles.map {
        Migration(version: $0.version, name: $0.name, sql: $0.sql)
    }
}
