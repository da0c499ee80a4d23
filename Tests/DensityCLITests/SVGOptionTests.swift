import Foundation
#if canImport(FoundationXML)
import FoundationXML
import DensityViews
#endif
import Testing

/// `histogram --svg` and `trend --svg` draw the same numbers the commands print.
@Suite struct SVGOptionTests {
    /// Every value of a `data-NAME` attribute in the file, in order.
    private func attributes(_ name: String, in text: String) -> [String] {
        text.components(separatedBy: "\(name)=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    @Test func histogramAndTrendPanelsMatchTheCommands() throws {
        try Sandbox.with { box in
            try box.ok(["demo", "--features", "512", "--batch", "256", "--checkpoints", "8"])
            let histogram = box.work.appendingPathComponent("h.svg").path
            let json = try box.ok(["histogram", "demo", "--bins", "10", "--format", "json", "--svg", histogram])
            let text = try String(contentsOfFile: histogram, encoding: .utf8)
            #expect(XMLParser(data: Data(text.utf8)).parse(), "the SVG is well-formed XML")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let counts = try #require(object["bins"] as? [[String: Any]]).map { ($0["count"] as? NSNumber)?.intValue ?? -1 }
            #expect(attributes("data-count", in: text).compactMap(Int.init) == counts)
            #expect(!text.contains("http://") || text.contains("xmlns=\"http://www.w3.org/2000/svg\""))

            let trend = box.work.appendingPathComponent("t.svg").path
            let trendJSON = try box.ok(["trend", "demo", "--feature", "3", "--format", "json", "--svg", trend])
            let trendText = try String(contentsOfFile: trend, encoding: .utf8)
            #expect(XMLParser(data: Data(trendText.utf8)).parse())
            let points = try #require((try JSONSerialization.jsonObject(with: Data(trendJSON.utf8)) as? [String: Any])?["points"] as? [Any])
            // The cumulative series has one step per point, as the command's JSON.
            let cumulativeSteps = try #require(attributes("data-steps", in: trendText).first).split(separator: " ")
            let jsonSteps = points.compactMap { (($0 as? [String: Any])?["step"] as? NSNumber)?.stringValue }
            #expect(cumulativeSteps.map(String.init) == jsonSteps)
            // An existing file is not replaced without --force.
            try box.fails(["trend", "demo", "--feature", "3", "--svg", trend], mentioning: ["exists", "--force"])
        }
    }
}
