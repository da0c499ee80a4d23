import Foundation

/// The geometry of one chart: its size, the plot area inside the margins, linear scales for both
/// axes (a log axis is given log10 values), and the axes drawn with ticks and labels.
package struct ChartFrame {
    /// One tick: where it is (in data units) and what it says.
    package struct Tick: Hashable {
        package var value: Double
        package var label: String
    }

    /// The whole chart, in pixels.
    package var width: Double
    package var height: Double
    /// The data range on each axis.
    package var xDomain: ClosedRange<Double>
    package var yDomain: ClosedRange<Double>
    /// Margins around the plot area.
    package var left = 74.0, right = 24.0, top = 36.0, bottom = 50.0

    package var plotLeft: Double { left }
    package var plotRight: Double { width - right }
    package var plotTop: Double { top }
    package var plotBottom: Double { height - bottom }

    /// The x pixel of a data value.
    package func x(_ value: Double) -> Double {
        let span = xDomain.upperBound - xDomain.lowerBound
        guard span > 0 else { return (plotLeft + plotRight) / 2 }
        return plotLeft + (value - xDomain.lowerBound) / span * (plotRight - plotLeft)
    }

    /// The y pixel of a data value (up is larger).
    package func y(_ value: Double) -> Double {
        let span = yDomain.upperBound - yDomain.lowerBound
        guard span > 0 else { return (plotTop + plotBottom) / 2 }
        return plotBottom - (value - yDomain.lowerBound) / span * (plotBottom - plotTop)
    }

    // MARK: - Building blocks

    /// The root `<svg>` of a chart: a `<title>` for screen readers and tooltips, the chart's
    /// heading, then `children`.
    package func svg(panel: String, title: String, _ children: [SVG]) -> SVG {
        SVG("svg", [
            "class": "chart", "data-panel": panel, "viewBox": "0 0 \(SVG.number(width)) \(SVG.number(height))",
            "width": SVG.number(width), "height": SVG.number(height), "role": "img", "aria-label": title,
            "font-family": "sans-serif", "font-size": "12",
        ], [
            SVG("title", text: title),
            SVG("rect", ["x": "0", "y": "0", "width": SVG.number(width), "height": SVG.number(height), "fill": "#ffffff"]),
            SVG("text", ["class": "chart-title", "x": SVG.number(plotLeft), "y": "20", "font-size": "14",
                         "font-weight": "bold", "fill": "#222222"], text: title),
        ] + children)
    }

    /// Both axes: lines, ticks, tick labels, light grid lines across the plot at the y ticks, and
    /// the axis labels (class `axis-label`).
    package func axes(x xTicks: [Tick], y yTicks: [Tick], xLabel: String, yLabel: String, grid: Bool = true) -> SVG {
        var items: [SVG] = []
        if grid {
            for tick in yTicks {
                let py = SVG.number(y(tick.value))
                items.append(SVG("line", ["class": "grid", "x1": SVG.number(plotLeft), "x2": SVG.number(plotRight),
                                          "y1": py, "y2": py, "stroke": "#e6e6e6", "stroke-width": "1"]))
            }
        }
        items.append(SVG("line", ["class": "axis x", "x1": SVG.number(plotLeft), "x2": SVG.number(plotRight),
                                  "y1": SVG.number(plotBottom), "y2": SVG.number(plotBottom), "stroke": "#444444"]))
        items.append(SVG("line", ["class": "axis y", "x1": SVG.number(plotLeft), "x2": SVG.number(plotLeft),
                                  "y1": SVG.number(plotTop), "y2": SVG.number(plotBottom), "stroke": "#444444"]))
        for tick in xTicks {
            let px = SVG.number(x(tick.value))
            items.append(SVG("line", ["x1": px, "x2": px, "y1": SVG.number(plotBottom), "y2": SVG.number(plotBottom + 5),
                                      "stroke": "#444444"]))
            items.append(SVG("text", ["class": "tick x", "x": px, "y": SVG.number(plotBottom + 18),
                                      "text-anchor": "middle", "fill": "#333333"], text: tick.label))
        }
        for tick in yTicks {
            let py = y(tick.value)
            items.append(SVG("line", ["x1": SVG.number(plotLeft - 5), "x2": SVG.number(plotLeft),
                                      "y1": SVG.number(py), "y2": SVG.number(py), "stroke": "#444444"]))
            items.append(SVG("text", ["class": "tick y", "x": SVG.number(plotLeft - 8), "y": SVG.number(py + 4),
                                      "text-anchor": "end", "fill": "#333333"], text: tick.label))
        }
        items.append(SVG("text", ["class": "axis-label x", "x": SVG.number((plotLeft + plotRight) / 2),
                                  "y": SVG.number(height - 10), "text-anchor": "middle", "fill": "#222222"], text: xLabel))
        let middle = SVG.number((plotTop + plotBottom) / 2)
        items.append(SVG("text", ["class": "axis-label y", "x": "16", "y": middle, "text-anchor": "middle",
                                  "transform": "rotate(-90 16 \(middle))", "fill": "#222222"], text: yLabel))
        return SVG("g", ["class": "axes"], items)
    }

    /// A legend: a swatch and a label per item, in a row at the top right of the plot.
    package func legend(_ items: [(label: String, color: String, dashed: Bool)]) -> SVG {
        var children: [SVG] = []
        var cursor = plotRight
        for item in items.reversed() {
            let textWidth = Double(item.label.count) * 6.6
            cursor -= textWidth
            children.append(SVG("text", ["x": SVG.number(cursor), "y": "24", "fill": "#222222"], text: item.label))
            cursor -= 24
            var line = SVG("line", ["x1": SVG.number(cursor), "x2": SVG.number(cursor + 18), "y1": "20", "y2": "20",
                                    "stroke": item.color, "stroke-width": "2.5"])
            if item.dashed { line = line.with("stroke-dasharray", "5 3") }
            children.append(line)
            cursor -= 14
        }
        return SVG("g", ["class": "legend"], children.reversed())
    }

    /// A polyline through `points` (data units), carrying the exact steps and values it draws as
    /// `data-steps` and `data-values`, so a reader (or a test) can check them against the CLI.
    package func line(series: String, color: String, dashed: Bool = false, steps: [Int64], values: [Double],
              plotted: [(x: Double, y: Double)]) -> SVG {
        let points = plotted.map { SVG.number(x($0.x)) + "," + SVG.number(y($0.y)) }.joined(separator: " ")
        var line = SVG("polyline", [
            "class": "series", "data-series": series, "points": points, "fill": "none", "stroke": color,
            "stroke-width": "2", "stroke-linejoin": "round",
            "data-steps": steps.map(String.init).joined(separator: " "),
            "data-values": values.map { SVG.exact($0) }.joined(separator: " "),
        ], [SVG("title", text: series)])
        if dashed { line = line.with("stroke-dasharray", "5 3") }
        return line
    }

    // MARK: - Ticks

    /// About `count` round ticks (1, 2 or 5 times a power of ten) within a range.
    package static func ticks(_ range: ClosedRange<Double>, count: Int = 6, integers: Bool = false) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        var step = niceStep(span / Double(max(1, count)))
        if integers { step = max(1, step.rounded(.up)) }
        let first = (range.lowerBound / step).rounded(.up)
        let last = (range.upperBound / step + 1e-9).rounded(.down)
        guard first <= last else { return [] }
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    /// The smallest of 1, 2, 5 x 10^k at least `raw`.
    package static func niceStep(_ raw: Double) -> Double {
        let power = pow(10, (log10(raw)).rounded(.down))
        for factor in [1.0, 2, 5, 10] where factor * power >= raw * (1 - 1e-12) { return factor * power }
        return 10 * power
    }

    /// Ticks labelled compactly, all in one unit chosen by the largest: 250 500 750, 2k 4k 10k,
    /// 0.5M 1M; fractions with the decimals the step needs.
    package static func labelled(_ values: [Double]) -> [Tick] {
        let step = values.count > 1 ? abs(values[1] - values[0]) : 1
        let largest = values.map(abs).max() ?? 0
        return values.map { Tick(value: $0, label: label($0, step: step, largest: largest)) }
    }

    /// A compact label for a tick value: in millions (`1.5M`) or thousands (`25k`) when the
    /// largest tick reaches 1e6 or 1e4, else as is.
    package static func label(_ value: Double, step: Double = 1, largest: Double? = nil) -> String {
        let largest = largest ?? abs(value)
        let integral = value == value.rounded()
        if value == 0 { return "0" }
        if integral && largest >= 1e6 { return trimmed(value / 1e6) + "M" }
        if integral && largest >= 1e4 { return trimmed(value / 1e3) + "k" }
        if integral && abs(value) < 1e15 { return String(Int64(value)) }
        let decimals = max(0, min(6, Int((-log10(step)).rounded(.up))))
        return String(format: "%.\(decimals)f", value)
    }

    /// Up to three decimals, without trailing zeros.
    package static func trimmed(_ value: Double) -> String {
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Ticks at each power of ten in a range of log10 values, labelled `1e-3`, `0.01`, `1`.
    package static func decadeTicks(_ range: ClosedRange<Double>) -> [Tick] {
        let low = Int(range.lowerBound.rounded(.up)), high = Int(range.upperBound.rounded(.down))
        guard low <= high else { return [] }
        let every = max(1, (high - low + 6) / 7)
        return stride(from: high, through: low, by: -every).reversed().map { Tick(value: Double($0), label: decade($0)) }
    }

    /// 10^k as a label: `1`, `0.1`, `0.01`, `1e-3` …
    package static func decade(_ k: Int) -> String {
        switch k {
        case 0: "1"
        case -1: "0.1"
        case -2: "0.01"
        case 1...3: String(Int(pow(10, Double(k))))
        default: "1e\(k)"
        }
    }
}
