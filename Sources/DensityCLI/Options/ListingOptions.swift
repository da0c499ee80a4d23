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

    /// Up to `--limit` of `items` as a table: the key columns, then `columns` with `values`; with a
    /// note when some are left out.
    func table<Item: ListedFeature>(components: Bool, _ columns: [String], _ items: [Item],
                                    values: (Item) -> [String]) -> String {
        let shown = limit == 0 ? items[...] : items.prefix(limit)
        var text = Console.table(Item.keyColumns(components: components) + columns, shown.map { $0.key + values($0) })
        if shown.count < items.count {
            text += "(\(shown.count) of \(items.count) shown; --limit 0 for all, or --format csv or json)\n"
        }
        return text
    }

    /// All of `items` as CSV with a header row: the key columns, then `columns` with `values`.
    static func csv<Item: ListedFeature>(components: Bool, _ columns: [String], _ items: [Item],
                                         values: (Item) -> [String]) -> String {
        var text = (Item.keyColumns(components: components) + columns).joined(separator: ",") + "\n"
        for item in items { text += (item.key + values(item)).joined(separator: ",") + "\n" }
        return text
    }
}
