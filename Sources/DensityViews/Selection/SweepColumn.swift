internal import DensityMetric
internal import DensityStore
package import Foundation

/// The sweep table's columns as values to sort and filter by (`density runs --sort -dead --where
/// l1=0.001`): the built-in ones, read from the stored summaries, and every key of the runs' meta.
package enum SweepColumn {
    /// A cell's value: a number compares as a number, text as text; a missing cell (no checkpoint
    /// yet, no such meta key) sorts last and matches no filter.
    package enum Value: Equatable, Sendable {
        case number(Double)
        case text(String)
        case missing

        /// The value of text as given on a command line or in meta: a number when it reads as one.
        package init(parsing text: String) {
            self = Double(text).map(Value.number) ?? .text(text)
        }
    }

    /// The built-in columns, in the table's order; `dead` and `dense` are fractions of the run's
    /// features, so runs of different widths compare.
    package static let builtIn = ["name", "store", "features", "step", "vectors", "checkpoints", "dead", "dense",
                                  "log10", "latest", "rate"]

    /// The value of `column` in `entry`: a built-in column, else the run's meta key.
    package static func value(_ column: String, of entry: SweepJSON.Entry) -> Value {
        let row = entry.row
        let number = { (value: Double?) in value.map(Value.number) ?? .missing }
        switch column {
        case "name": return .text(entry.name)
        case "store": return .text(entry.store)
        case "features": return .number(Double(row.width))
        case "step": return number(row.latest.map { Double($0.step) })
        case "vectors": return number(row.latest.map { Double($0.vectors) })
        case "checkpoints": return .number(Double(row.checkpointCount))
        case "dead": return number(row.summary.map { row.fraction($0.dead) })
        case "dense": return number(row.summary.map { row.fraction($0.dense) })
        case "log10": return number(row.meanLog10Density)
        case "latest": return number(row.latest.flatMap { SweepJSON.wallTime($0.wallTime) }?.timeIntervalSince1970)
        case "rate": return number(SweepJSON.rate(row)?.steps)
        default: return meta(entry)[column].map(Value.init(parsing:)) ?? .missing
        }
    }

    /// A run's meta object flattened to one level of text values (nested values as JSON).
    package static func meta(_ entry: SweepJSON.Entry) -> [String: String] {
        guard case .object(let pairs) = SweepJSON.meta(entry.row.run.metadata) else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in pairs {
            if case .string(let string) = value { result[key] = string } else { result[key] = value.text }
        }
        return result
    }

    /// Every column the entries can be sorted and filtered by: the built-in ones, then the meta
    /// keys, sorted.
    package static func names(_ entries: [SweepJSON.Entry]) -> [String] {
        builtIn + Set(entries.flatMap { meta($0).keys }).subtracting(builtIn).sorted()
    }

    /// `entries` sorted by `column` (stably), ascending or descending; missing cells last.
    package static func sorted(_ entries: [SweepJSON.Entry], by column: String, descending: Bool) -> [SweepJSON.Entry] {
        let keyed = entries.enumerated().map { ($0.offset, value(column, of: $0.element), $0.element) }
        return keyed.sorted { a, b in
            switch (a.1, b.1) {
            case (.missing, .missing): return a.0 < b.0
            case (.missing, _): return false
            case (_, .missing): return true
            default:
                if a.1 == b.1 { return a.0 < b.0 }
                return descending ? precedes(b.1, a.1) : precedes(a.1, b.1)
            }
        }.map(\.2)
    }

    /// Numbers before text; numbers by value, text by its characters.
    private static func precedes(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case let (.number(x), .number(y)): x < y
        case (.number, .text): true
        case (.text, .number): false
        case let (.text(x), .text(y)): x < y
        default: false
        }
    }

    /// A filter `COLUMN OP VALUE`: `=`, `!=`, `<`, `<=`, `>` or `>=`.
    package struct Filter: Sendable, Equatable {
        /// The column.
        package let column: String
        /// The comparison.
        package let comparison: String
        /// The value compared with.
        package let operand: Value

        /// The comparisons, the two-character ones first so that `<=` is not read as `<`.
        package static let comparisons = ["<=", ">=", "!=", "=", "<", ">"]

        /// Reads `l1=0.001`, `dead>0.1`, `name!=baseline`; `nil` without a comparison or a column.
        package init?(parsing text: String) {
            guard let (range, comparison) = Self.comparisons.lazy.compactMap({ op in
                text.range(of: op).map { ($0, op) }
            }).min(by: { $0.0.lowerBound < $1.0.lowerBound }) else { return nil }
            let column = String(text[..<range.lowerBound]).trimmingCharacters(in: .whitespaces)
            guard !column.isEmpty else { return nil }
            // `<=` found at the same place as `<`: the longer one, listed first, wins the tie.
            let longest = Self.comparisons.first { text[range.lowerBound...].hasPrefix($0) } ?? comparison
            self.column = column
            self.comparison = longest
            let rest = text[text.index(range.lowerBound, offsetBy: longest.count)...]
            self.operand = Value(parsing: rest.trimmingCharacters(in: .whitespaces))
        }

        /// Whether `entry`'s cell passes: numbers compare as numbers, text as text; a missing
        /// cell, or a number against text with `<` or `>`, never passes.
        package func matches(_ entry: SweepJSON.Entry) -> Bool {
            let cell = SweepColumn.value(column, of: entry)
            let order: ComparisonResult
            switch (cell, operand) {
            case (.missing, _): return false
            case let (.number(x), .number(y)): order = x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
            case let (.text(x), .text(y)): order = x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
            default:
                return comparison == "!="
            }
            switch comparison {
            case "=": return order == .orderedSame
            case "!=": return order != .orderedSame
            case "<": return order == .orderedAscending
            case "<=": return order != .orderedDescending
            case ">": return order == .orderedDescending
            default: return order != .orderedAscending
            }
        }
    }
}
