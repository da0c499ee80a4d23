import Foundation
#if canImport(FoundationXML)
import FoundationXML
import DensityViews
#endif
import Testing
@testable import DensityCLI
import DensityMetric
@testable import DensityStore

/// The SVG builder escapes everything it is given, and every chart it builds is well-formed XML
/// with its axes labelled and one mark per value.
@Suite struct SVGTests {
    // MARK: - The builder

    @Test func rendersAttributesInOrderAndSelfClosesEmptyElements() {
        let tree = SVG("g", ["class": "a", "id": "b"], [SVG("rect", ["x": "1", "y": "2"]), SVG("text", text: "hi")])
        #expect(tree.xml == #"<g class="a" id="b"><rect x="1" y="2"/><text>hi</text></g>"#)
        #expect(tree.with("data-x", "3").attribute("data-x") == "3")
    }

    @Test(arguments: [
        "plain", "a < b && c > d", #"say "hi" & 'bye'"#, "line\nbreak\tand tab\r", "</svg><script>alert(1)</script>",
        "ünïcödé ✓ 密度", "-->", "]]>", "&amp; already escaped",
    ])
    func escapedTextAndAttributesReadBackExactly(_ text: String) throws {
        let markup = SVG("svg", ["data-value": text], [SVG("text", ["data-x": text], text: text)]).xml
        let root = try XMLTree.parse(markup)
        #expect(root.attributes["data-value"] == text)
        let child = try #require(root.children.first)
        #expect(child.attributes["data-x"] == text)
        // A parser normalizes a lone carriage return in text to a line feed; the builder keeps it as &#13;.
        #expect(child.text == text)
        #expect(!markup.contains("<script"))
    }

    @Test func charactersXMLForbidsBecomeReplacementCharacters() throws {
        let text = "bell\u{07} nul-free \u{1B}[0m \u{FFFE}"
        let markup = SVG("text", ["title": text], text: text).xml
        let root = try XMLTree.parse(markup)
        #expect(root.text == "bell\u{FFFD} nul-free \u{FFFD}[0m \u{FFFD}")
        #expect(root.attributes["title"] == root.text)
    }

    @Test func numbersHaveAtMostTwoDecimalsAndNoNegativeZero() {
        #expect(SVG.number(0) == "0")
        #expect(SVG.number(-0.001) == "0")
        #expect(SVG.number(12) == "12")
        #expect(SVG.number(12.5) == "12.5")
        #expect(SVG.number(12.345) == "12.35" || SVG.number(12.345) == "12.34")
        #expect(SVG.number(-0.5) == "-0.5")
        #expect(SVG.number(-1.05) == "-1.05")
        #expect(SVG.number(3.0001) == "3")
        #expect(SVG.number(.nan) == "0")
        #expect(SVG.exact(0.1) == "0.1")
        #expect(SVG.exact(nil) == "null")
        #expect(Double(SVG.exact(1.0 / 3.0)) == 1.0 / 3.0)
    }

    @Test func standaloneDocumentsDeclareTheNamespace() throws {
        let text = SVG.standalone(SVG("svg", ["width": "10"], [SVG("rect")]))
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns="))
        let root = try XMLTree.parse(text)
        #expect(root.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        // Inline (in the report's page) there is no namespace, hence no URL.
        #expect(!SVG("svg").xml.contains("http"))
    }

    @Test func aPanelIsWrittenAsAStandaloneFile() throws {
        try Sandbox.with { box in
            let panel = ReportPanels.vectors(run: "r", points: [(step: 1, vectors: 4), (step: 2, vectors: 9)])
            try ReportPanels.write(panel, to: ExportTarget(path: box.path("v.svg"), force: false))
            let root = try XMLTree.parse(try String(contentsOfFile: box.path("v.svg"), encoding: .utf8))
            #expect(root.name == "svg" && root.attributes["xmlns"] == SVG.namespace)
            #expect(root.all { $0.name == "polyline" }.first?.numbers("data-values") == [4, 9])
            #expect(throws: CLIError.self) { try ReportPanels.write(panel, to: ExportTarget(path: box.path("v.svg"), force: false)) }
            try ReportPanels.write(ReportPanels.vectors(run: "r", points: []), to: ExportTarget(path: box.path("v.svg"), force: true))
            #expect(box.listing() == ["v.svg"])
        }
    }

    // MARK: - Ticks

    @Test func ticksAreRoundAndWithinTheRange() {
        #expect(ChartFrame.ticks(0...10, count: 5) == [0, 2, 4, 6, 8, 10])
        #expect(ChartFrame.ticks(250...10_000, count: 8, integers: true) == [2000, 4000, 6000, 8000, 10_000])
        #expect(ChartFrame.ticks(-10...0, count: 10, integers: true) == (-10...0).map(Double.init))
        #expect(ChartFrame.ticks(0...3, count: 10, integers: true) == [0, 1, 2, 3])
        #expect(ChartFrame.labelled([2000, 4000, 10_000]).map(\.label) == ["2k", "4k", "10k"])
        #expect(ChartFrame.labelled([0, 500_000, 1_000_000]).map(\.label) == ["0", "0.5M", "1M"])
        #expect(ChartFrame.labelled([0, 0.5, 1]).map(\.label) == ["0", "0.5", "1"])
        #expect(ChartFrame.decadeTicks(-4...0).map(\.label) == ["1e-4", "1e-3", "0.01", "0.1", "1"])
    }

    // MARK: - Panels

    static func summary(_ histogram: [Int], dead: Int, dense: Int, vectors: Int64 = 100) -> DensitySummary {
        DensitySummary(vectors: vectors, width: histogram.reduce(0, +), firedTotal: 10, dead: dead, dense: dense,
                       nonFinite: 0, histogram: histogram)
    }

    @Test(arguments: [50, 10, 1])
    func histogramHasOneBarPerBinAndMarksDeadAndDense(bins: Int) throws {
        let histogram = (0..<bins).map { ($0 * 7 + 3) % 11 }
        let svg = ReportPanels.histogram(run: "r<&>", step: 1200, summary: Self.summary(histogram, dead: histogram[0], dense: 4))
        let root = try XMLTree.parse(svg.xml)
        let bars = root.all { $0.hasClass("bar") }
        #expect(bars.count == bins)
        #expect(bars.map { Int($0.attributes["data-count"] ?? "") } == histogram.map(Optional.init))
        #expect(bars.map { Int($0.attributes["data-bin"] ?? "") } == (0..<bins).map(Optional.init))
        #expect(bars.first?.hasClass("dead") == true && bars.dropFirst().allSatisfy { !$0.hasClass("dead") })
        #expect(bars.last.flatMap { Double($0.attributes["data-high"] ?? "") } == 0)
        #expect(root.attributes["data-step"] == "1200" && root.attributes["data-dense"] == "4")
        #expect(root.all { $0.hasClass("dense-band") }.count == 1)
        try Self.expectAxes(root, x: "log10(density + 1e-10)", y: "features (of \(histogram.reduce(0, +)))")
        #expect(root.all { $0.name == "title" }.first?.text?.contains("r<&>") == true)
    }

    @Test func heatmapHasACellPerStepAndBin() throws {
        let columns = (1...7).map { i in (step: Int64(i * 100), histogram: (0..<50).map { ($0 * i) % 13 }) }
        let root = try XMLTree.parse(ReportPanels.heatmap(run: "r", columns: columns, total: 9).xml)
        let groups = root.all { $0.hasClass("column") }
        #expect(groups.map(\.attributes["data-step"]) == columns.map { String($0.step) })
        #expect(root.all { $0.hasClass("cell") }.count == 7 * 50)
        for (group, column) in zip(groups, columns) {
            #expect(group.children.map { Int($0.attributes["data-count"] ?? "") } == column.histogram.map(Optional.init))
        }
        #expect(root.all { $0.name == "title" }.first?.text?.contains("7 of 9 checkpoints") == true)
        try Self.expectAxes(root, x: "step", y: "log10(density + 1e-10)")
        // Columns tile the plot: each starts where the previous ends (overlapping it by half a
        // pixel, so no gap shows), the first at the y axis, the last at the plot's right edge.
        let xs = groups.map { Double($0.children[0].attributes["x"] ?? "") ?? .nan }
        let widths = groups.map { Double($0.children[0].attributes["width"] ?? "") ?? .nan }
        for i in 1..<xs.count {
            let end = xs[i - 1] + widths[i - 1]
            #expect(xs[i] <= end + 0.02 && xs[i] >= end - 0.52, "column \(i) starts at \(xs[i]), the previous ends at \(end)")
        }
        #expect(abs(xs[0] - 74) < 0.01 && abs(xs[6] + widths[6] - (920 - 110)) < 0.01)
    }

    @Test func lineChartsCarryEveryPointAndTheirValues() throws {
        let points = (1...5).map { (step: Int64($0 * 10), dead: 50 - $0, dense: $0 * 2) }
        let root = try XMLTree.parse(ReportPanels.deadDense(run: "r", points: points).xml)
        let lines = root.all { $0.name == "polyline" }
        #expect(lines.map(\.attributes["data-series"]) == ["dead", "dense"])
        #expect(lines.map { $0.pointCount } == [5, 5])
        #expect(lines[0].numbers("data-values") == points.map { Double($0.dead) })
        #expect(lines[1].numbers("data-values") == points.map { Double($0.dense) })
        #expect(lines[0].attributes["data-steps"] == "10 20 30 40 50")
        try Self.expectAxes(root, x: "step", y: "features")

        let vectors = try XMLTree.parse(ReportPanels.vectors(run: "r", points: [(step: 5, vectors: 64)]).xml)
        #expect(vectors.all { $0.name == "polyline" }.first?.pointCount == 1)
        #expect(vectors.all { $0.hasClass("tick") && $0.hasClass("x") }.map(\.text) == ["5"])
        try Self.expectAxes(vectors, x: "step", y: "vectors seen")
    }

    @Test func trendDrawsZerosOnTheirOwnRowAndSkipsMissingWindows() throws {
        let points = [TrendPoint(step: 1, vectors: 10, count: 0), TrendPoint(step: 2, vectors: 20, count: 5),
                      TrendPoint(step: 3, vectors: 40, count: 5)]
        let windows = TrendCommand.windowDensities(points)
        let root = try XMLTree.parse(ReportPanels.trend(run: "r", feature: "1:7", points: points, windows: windows).xml)
        let lines = root.all { $0.name == "polyline" }
        #expect(lines.map(\.attributes["data-series"]) == ["density", "window density"])
        #expect(lines[0].pointCount == 3 && lines[0].numbers("data-values") == [0, 0.25, 0.125])
        #expect(lines[1].pointCount == 2 && lines[1].numbers("data-values") == [0.5, 0])
        #expect(lines[1].attributes["data-steps"] == "2 3")
        #expect(root.all { $0.hasClass("tick") && $0.hasClass("y") }.contains { $0.text == "0" })
        #expect(root.attributes["data-feature"] == "1:7")
        try Self.expectAxes(root, x: "step", y: "density (log scale)")
        let silent = try XMLTree.parse(ReportPanels.trend(run: "r", feature: "2", points: [points[0]], windows: [nil]).xml)
        #expect(silent.all { $0.hasClass("annotation") }.first?.text == "never fired in these steps")
    }

    /// An x and a y axis label with the given text, and tick labels on both axes.
    static func expectAxes(_ root: XMLTree.Element, x: String, y: String,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        let labels = root.all { $0.hasClass("axis-label") }
        #expect(labels.first { $0.hasClass("x") }?.text == x, sourceLocation: sourceLocation)
        #expect(labels.first { $0.hasClass("y") }?.text == y, sourceLocation: sourceLocation)
        #expect(!root.all { $0.hasClass("tick") && $0.hasClass("x") }.isEmpty, "x tick labels", sourceLocation: sourceLocation)
        #expect(!root.all { $0.hasClass("tick") && $0.hasClass("y") }.isEmpty, "y tick labels", sourceLocation: sourceLocation)
    }
}

// MARK: - Reading markup back

/// A parsed XML document: elements with attributes, text and children, read with Foundation's
/// `XMLParser` (FoundationXML on Linux). Parsing fails on any markup that is not well-formed.
enum XMLTree {
    final class Element {
        let name: String
        let attributes: [String: String]
        var text: String?
        var children: [Element] = []

        init(name: String, attributes: [String: String]) {
            self.name = name
            self.attributes = attributes
        }

        /// Whether `class` holds this word.
        func hasClass(_ word: String) -> Bool {
            attributes["class"]?.split(separator: " ").contains(Substring(word)) ?? false
        }

        /// This element and its descendants that match, in document order.
        func all(_ matches: (Element) -> Bool) -> [Element] {
            var found = matches(self) ? [self] : []
            for child in children { found += child.all(matches) }
            return found
        }

        /// Every text inside, concatenated.
        var allText: String { (text ?? "") + children.map(\.allText).joined() }

        /// A space-separated attribute as numbers (`null` as NaN).
        func numbers(_ attribute: String) -> [Double] {
            (attributes[attribute] ?? "").split(separator: " ").map { Double($0) ?? .nan }
        }

        /// The number of points of a polyline.
        var pointCount: Int { (attributes["points"] ?? "").split(separator: " ").count }
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses a document; throws with the parser's message and line when it is not well-formed.
    static func parse(_ text: String) throws -> Element {
        let delegate = Delegate()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.root else {
            throw ParseError(description: "not well-formed XML at line \(parser.lineNumber), column \(parser.columnNumber): \(parser.parserError.map { "\($0)" } ?? "no root")")
        }
        return root
    }

    final class Delegate: NSObject, XMLParserDelegate {
        var root: Element?
        var stack: [Element] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            let element = Element(name: name, attributes: attributes)
            if let parent = stack.last { parent.children.append(element) } else { root = element }
            stack.append(element)
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard let current = stack.last else { return }
            current.text = (current.text ?? "") + string
        }
    }
}
