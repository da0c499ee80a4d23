import ArgumentParser

/// `--limit K` and `--format`: how many rows a listing's table shows (`dead`, `dense`) and the
/// output format.
struct ListingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Table rows per list; 0 for all (json and csv always list all).", valueName: "K"))
    var limit: Int = 20

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("--limit must be 0 (all) or more, got \(limit)") }
    }

    /// Up to `--limit` of `items` as a table with `header`, one row each, with a note when some are
    /// left out.
    func table<Item>(_ header: [String], _ items: [Item], row: (Item) -> [String]) -> String {
        let shown = limit == 0 ? items[...] : items.prefix(limit)
        var text = Console.table(header, shown.map(row))
        if shown.count < items.count {
            text += "(\(shown.count) of \(items.count) shown; --limit 0 for all, or --format csv or json)\n"
        }
        return text
    }
}
