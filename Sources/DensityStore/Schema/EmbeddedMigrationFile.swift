/// One `Migrations/NNNN_name.sql` file, compiled into the binary by the EmbedMigrations plugin.
struct EmbeddedMigrationFile: Sendable {
    /// The `NNNN` prefix.
    let version: String
    /// The rest of the file name, without `.sql`.
    let name: String
    /// The file's SQL.
    let sql: String
}
