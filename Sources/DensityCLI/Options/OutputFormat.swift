import ArgumentParser

/// `--format`: how a query prints its result on stdout.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// Aligned text for people.
    case table
    /// One JSON document, for scripts.
    case json
    /// Comma-separated values with a header row.
    case csv
}
