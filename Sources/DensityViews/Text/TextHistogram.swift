internal import Foundation

/// A log10-density histogram drawn as text, one row a bin: its interval, its count and a bar of
/// block characters. The one drawing `histogram`, `watch` and `demo` print, and the one place the
/// stored bins are regrouped into fewer.
package enum TextHistogram {
    /// How the rows are laid out.
    package enum Style: Sendable, Hashable {
        /// A table: a header row and a rule, bars ``tableBarWidth`` wide, the first bin marked `  dead`.
        case table
        /// Rows filling a pane `width` columns wide: no header, the first bin marked ` dead`.
        case pane(width: Int)
    }

    /// The widest bar of a table, in columns.
    package static let tableBarWidth = 50

    /// Adds up consecutive stored bins into `bins` bins.
    /// - Returns: The regrouped counts, or `nil` when `bins` does not divide the stored bins.
    package static func regroup(_ stored: [Int], into bins: Int) -> [Int]? {
        guard bins > 0, !stored.isEmpty, stored.count % bins == 0 else { return nil }
        let group = stored.count / bins
        return (0..<bins).map { stored[($0 * group)..<(($0 + 1) * group)].reduce(0, +) }
    }

    /// A bin as an interval, `[-10, -9.5)`; the last one is closed, `[-0.5, 0]`.
    /// - Parameters:
    ///   - index: The bin.
    ///   - edges: The bins' edges (``DensityViews/QueryJSON/histogramEdges(_:)``).
    package static func interval(_ index: Int, _ edges: [Double]) -> String {
        "[\(number(edges[index])), \(number(edges[index + 1]))\(index == edges.count - 2 ? "]" : ")")"
    }

    /// A number in a compact, readable form: 6 significant digits.
    package static func number(_ value: Double) -> String {
        value.isNaN ? "nan" : String(format: "%.6g", value)
    }

    /// A horizontal bar of `count` scaled so that `largest` is `width` columns, in eighths of a
    /// column; any non-zero count gets at least the thinnest bar.
    package static func bar(_ count: Int, of largest: Int, width: Int) -> String {
        guard count > 0, largest > 0 else { return "" }
        let eighths = max(1, Int((Double(count) / Double(largest) * Double(width * 8)).rounded()))
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        return String(repeating: "█", count: eighths / 8) + partial[eighths % 8]
    }

    /// The rows of a histogram of `counts` (one a bin over [-10, 0], the first holding the dead
    /// features), without a final newline.
    package static func lines(_ counts: [Int], style: Style) -> [String] {
        let bins = counts.count
        let edges = QueryJSON.histogramEdges(bins)
        let header = style == .table
        let labels = (0..<bins).map { interval($0, edges) + ($0 == 0 ? (header ? "  dead" : " dead") : "") }
        let texts = counts.map(String.init)
        let labelWidth = max(header ? DisplayWidth.of("log10 density") : 0, labels.map(DisplayWidth.of).max() ?? 0)
        let countWidth = max(header ? DisplayWidth.of("count") : 0, texts.map(DisplayWidth.of).max() ?? 0)
        let barWidth = switch style {
        case .table: tableBarWidth
        case .pane(let width): max(10, min(60, width - labelWidth - countWidth - 4))
        }
        let largest = counts.max() ?? 0
        var lines: [String] = []
        if header {
            lines.append(DisplayWidth.padRight("log10 density", labelWidth) + "  " + DisplayWidth.padLeft("count", countWidth))
            lines.append(String(repeating: "-", count: labelWidth) + "  " + String(repeating: "-", count: countWidth))
        }
        for index in 0..<bins {
            let row = DisplayWidth.padRight(labels[index], labelWidth) + "  " + DisplayWidth.padLeft(texts[index], countWidth)
            let bar = bar(counts[index], of: largest, width: barWidth)
            lines.append(header && bar.isEmpty ? row : row + "  " + bar)
        }
        return lines
    }
}
