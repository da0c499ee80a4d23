package import DensityMetric
package import DensityStore
import Foundation

/// The report's charts, each a standalone `<svg>` built from the numbers the CLI prints: usable
/// inline in the report's page, or written alone with ``SVG/standalone(_:)`` (for `--svg FILE`).
///
/// Every drawn value is also in the markup: bars and cells carry `data-count`, lines carry
/// `data-steps` and `data-values` (exact, as the CLI's JSON prints them), and a `<title>` on each
/// bar gives a tooltip in a browser.
package enum ReportPanels {
    package static let barColor = "#4c78a8"
    package static let deadColor = "#c0392b"
    package static let denseColor = "#e8a33d"
    package static let denseBand = "#fdf0d8"
    package static let cumulativeColor = "#4c78a8"
    package static let windowColor = "#d95f02"
    /// Draw a marker at each point when a line has at most this many.
    package static let markerLimit = 60

    // MARK: - Histogram at one step

    /// The log10(density + 1e-10) histogram of one checkpoint, with the dead column and the dense
    /// band (log10 density >= -2) marked: what `density histogram RUN --step S` prints, and whose
    /// dead and dense counts `density show RUN --step S` prints.
    /// - Parameters:
    ///   - run: The run's name, for the title.
    ///   - step: The checkpoint's step.
    ///   - summary: Its summary (any number of bins over [-10, 0]).
    ///   - width: The chart's width in pixels.
    package static func histogram(run: String, step: Int64, summary: DensitySummary, width: Double = 920) -> SVG {
        let bins = max(1, summary.histogramBins)
        let peak = Double(summary.histogram.max() ?? 0)
        let yTicks = ChartFrame.ticks(0...max(1, peak), count: 5, integers: true)
        let frame = ChartFrame(width: width, height: 320,
                               xDomain: DensitySummary.histogramLow...DensitySummary.histogramHigh,
                               yDomain: 0...max(1, yTicks.last ?? 1, peak))
        let denseLow = log10(DensitySummary.defaultDenseThreshold)
        var items: [SVG] = [
            SVG("rect", ["class": "dense-band", "x": SVG.number(frame.x(denseLow)), "y": SVG.number(frame.plotTop),
                         "width": SVG.number(frame.x(DensitySummary.histogramHigh) - frame.x(denseLow)),
                         "height": SVG.number(frame.plotBottom - frame.plotTop), "fill": denseBand],
                [SVG("title", text: "dense: density >= 1e-2 (log10 >= -2): \(summary.dense) features")]),
            frame.axes(x: ChartFrame.labelled(ChartFrame.ticks(frame.xDomain, count: 10, integers: true)),
                       y: ChartFrame.labelled(yTicks), xLabel: "log10(density + 1e-10)",
                       yLabel: summary.width == 0 ? "features" : "features (of \(summary.width))"),
        ]
        var bars: [SVG] = []
        for (bin, count) in summary.histogram.enumerated() {
            let low = DensitySummary.binLowerEdge(bin, bins: bins), high = DensitySummary.binLowerEdge(bin + 1, bins: bins)
            let x0 = frame.x(low), x1 = frame.x(high), top = frame.y(Double(count))
            let isDead = bin == 0
            let label = "log10 density [\(ChartFrame.trimmed(low)), \(ChartFrame.trimmed(high))): \(count) feature\(count == 1 ? "" : "s")"
                + (isDead ? " (includes the \(summary.dead) dead)" : "")
            bars.append(SVG("rect", [
                "class": isDead ? "bar dead" : "bar", "data-bin": String(bin), "data-low": SVG.exact(low),
                "data-high": SVG.exact(high), "data-count": String(count),
                "x": SVG.number(x0 + 0.5), "y": SVG.number(top), "width": SVG.number(max(0, x1 - x0 - 1)),
                "height": SVG.number(frame.plotBottom - top), "fill": isDead ? deadColor : barColor,
            ], [SVG("title", text: label)]))
        }
        items.append(SVG("g", ["class": "bars"], bars))
        let deadX = frame.x(DensitySummary.binLowerEdge(1, bins: bins))
        items.append(SVG("text", ["class": "annotation dead", "x": SVG.number(deadX + 6), "y": SVG.number(frame.plotTop + 14),
                                  "fill": deadColor, "font-weight": "bold"], text: "dead (count 0): \(summary.dead)"))
        items.append(SVG("text", ["class": "annotation dense", "x": SVG.number(frame.x(DensitySummary.histogramHigh) - 6),
                                  "y": SVG.number(frame.plotTop + 14), "text-anchor": "end", "fill": "#9a5b00",
                                  "font-weight": "bold"], text: "dense (>= 1e-2): \(summary.dense)"))
        return frame.svg(panel: "histogram", title: "log10-density histogram of '\(run)' at step \(step)", items)
            .with("data-step", String(step)).with("data-vectors", String(summary.vectors))
            .with("data-dead", String(summary.dead)).with("data-dense", String(summary.dense))
            .with("data-width", String(summary.width))
    }

    // MARK: - Histogram over training

    /// The histogram at each step as a heatmap: x = step, y = log10-density bin, colour = number of
    /// features (log scale). Each column is one checkpoint (`<g class="column" data-step>`), each
    /// cell one bin (`<rect class="cell" data-bin data-count>`).
    /// - Parameters:
    ///   - run: The run's name, for the title.
    ///   - columns: The checkpoints drawn, in step order, with their histograms.
    ///   - total: The number of checkpoints they were thinned from (for the title).
    ///   - width: The chart's width in pixels.
    package static func heatmap(run: String, columns: [(step: Int64, histogram: [Int])], total: Int? = nil,
                        width: Double = 920) -> SVG {
        let bins = max(1, columns.map(\.histogram.count).max() ?? 1)
        let steps = columns.map { Double($0.step) }
        let maxCount = columns.flatMap(\.histogram).max() ?? 0
        var frame = ChartFrame(width: width, height: 360, xDomain: stepDomain(columns.map(\.step)),
                               yDomain: DensitySummary.histogramLow...DensitySummary.histogramHigh)
        frame.right = 110
        var cells: [SVG] = []
        for (i, column) in columns.enumerated() {
            // A column spans from the midpoint with its neighbour on each side (the ends: to the
            // edge), and overlaps the next by half a pixel so rounding never leaves a gap.
            let x0 = i == 0 ? frame.plotLeft : (frame.x(steps[i - 1]) + frame.x(steps[i])) / 2
            let x1 = i == columns.count - 1 ? frame.plotRight : (frame.x(steps[i]) + frame.x(steps[i + 1])) / 2 + 0.5
            var rects: [SVG] = []
            for (bin, count) in column.histogram.enumerated() {
                let y1 = frame.y(DensitySummary.binLowerEdge(bin, bins: column.histogram.count))
                let y0 = frame.y(DensitySummary.binLowerEdge(bin + 1, bins: column.histogram.count))
                rects.append(SVG("rect", [
                    "class": "cell", "data-bin": String(bin), "data-count": String(count), "x": SVG.number(x0),
                    "y": SVG.number(y0), "width": SVG.number(max(0.5, x1 - x0)), "height": SVG.number(y1 - y0),
                    "fill": heatColor(count, max: maxCount),
                ]))
            }
            cells.append(SVG("g", ["class": "column", "data-step": String(column.step)], rects))
        }
        let denseY = SVG.number(frame.y(log10(DensitySummary.defaultDenseThreshold)))
        let deadTop = frame.y(DensitySummary.binLowerEdge(1, bins: bins))
        let items: [SVG] = [
            SVG("g", ["class": "cells", "shape-rendering": "crispEdges"], cells),
            SVG("line", ["class": "dense-line", "x1": SVG.number(frame.plotLeft), "x2": SVG.number(frame.plotRight),
                         "y1": denseY, "y2": denseY, "stroke": "#ffffff", "stroke-width": "1.5", "stroke-dasharray": "6 4"]),
            SVG("text", ["class": "annotation dense", "x": SVG.number(frame.plotRight - 4), "y": SVG.number(frame.y(-2) - 5),
                         "text-anchor": "end", "fill": "#ffffff", "font-weight": "bold",
                         "paint-order": "stroke", "stroke": "#222222", "stroke-width": "3"], text: "dense above (>= 1e-2)"),
            SVG("text", ["class": "annotation dead", "x": SVG.number(frame.plotRight - 4), "y": SVG.number(deadTop - 4),
                         "text-anchor": "end", "fill": deadColor, "font-weight": "bold"], text: "dead: bottom row"),
            frame.axes(x: stepTicks(frame, steps: columns.map(\.step)),
                       y: ChartFrame.labelled(ChartFrame.ticks(frame.yDomain, count: 5, integers: true)),
                       xLabel: "step", yLabel: "log10(density + 1e-10)", grid: false),
            heatLegend(frame: frame, max: maxCount),
        ]
        let thinned = total.map { $0 > columns.count ? " (\(columns.count) of \($0) checkpoints)" : "" } ?? ""
        return frame.svg(panel: "heatmap", title: "log10-density histogram of '\(run)' over training\(thinned)", items)
            .with("data-columns", String(columns.count)).with("data-bins", String(bins))
    }

    /// The heatmap's colour scale: a bar of swatches with ticks at powers of ten.
    package static func heatLegend(frame: ChartFrame, max maxCount: Int) -> SVG {
        let x = frame.plotRight + 22, top = frame.plotTop, bottom = frame.plotBottom
        let levels = 48
        let span = log1p(Double(Swift.max(1, maxCount)))
        var items: [SVG] = []
        for level in 0..<levels {
            // From the bottom (0 features) to the top (the most in any cell).
            let t0 = Double(level) / Double(levels), t1 = Double(level + 1) / Double(levels)
            let count = Int(expm1(t0 * span).rounded())
            let y1 = bottom - t0 * (bottom - top), y0 = bottom - t1 * (bottom - top)
            items.append(SVG("rect", ["class": "legend-swatch", "x": SVG.number(x), "y": SVG.number(y0), "width": "14",
                                      "height": SVG.number(y1 - y0 + 0.3), "fill": heatColor(count, max: maxCount)]))
        }
        var ticks: [Int] = [0]
        var power = 1
        while power <= maxCount { ticks.append(power); power *= 10 }
        for tick in ticks {
            let y = bottom - log1p(Double(tick)) / span * (bottom - top)
            items.append(SVG("line", ["x1": SVG.number(x + 14), "x2": SVG.number(x + 18), "y1": SVG.number(y),
                                      "y2": SVG.number(y), "stroke": "#444444"]))
            items.append(SVG("text", ["class": "tick legend", "x": SVG.number(x + 21), "y": SVG.number(y + 4),
                                      "fill": "#333333"], text: ChartFrame.label(Double(tick))))
        }
        items.append(SVG("text", ["class": "axis-label legend", "x": SVG.number(x - 4), "y": SVG.number(top - 8),
                                  "fill": "#222222"], text: "features"))
        return SVG("g", ["class": "legend"], items)
    }

    /// A cell's colour: light grey for no feature, else viridis on log(1 + count).
    package static func heatColor(_ count: Int, max maxCount: Int) -> String {
        guard count > 0 else { return "#f2f2f2" }
        let t = maxCount > 0 ? log1p(Double(count)) / log1p(Double(maxCount)) : 1
        let stops: [(Double, Double, Double)] = [
            (68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
            (31, 158, 137), (53, 183, 121), (110, 206, 88), (181, 222, 43), (253, 231, 37),
        ]
        let position = min(1, max(0, t)) * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(position)), f = position - Double(i)
        let a = stops[i], b = stops[i + 1]
        func channel(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * f).rounded()) }
        return String(format: "#%02x%02x%02x", channel(a.0, b.0), channel(a.1, b.1), channel(a.2, b.2))
    }

    // MARK: - Counts over training

    /// Dead and dense feature counts at each step: what `density show RUN --step S` prints as
    /// `dead` and `dense`.
    /// - Parameters:
    ///   - run: The run's name, for the title.
    ///   - points: Per checkpoint: step, dead and dense counts.
    ///   - width: The chart's width in pixels.
    package static func deadDense(run: String, points: [(step: Int64, dead: Int, dense: Int)], width: Double = 920) -> SVG {
        let steps = points.map(\.step)
        let peak = Double(points.map { max($0.dead, $0.dense) }.max() ?? 0)
        let yTicks = ChartFrame.ticks(0...max(1, peak), count: 5, integers: true)
        let frame = ChartFrame(width: width, height: 280, xDomain: stepDomain(steps),
                               yDomain: 0...max(1, peak, yTicks.last ?? 1))
        let dead = points.map { Double($0.dead) }, dense = points.map { Double($0.dense) }
        let items: [SVG] = [
            frame.axes(x: stepTicks(frame, steps: steps), y: ChartFrame.labelled(yTicks), xLabel: "step", yLabel: "features"),
            series(frame, name: "dead", color: deadColor, steps: steps, values: dead, plotted: dead),
            series(frame, name: "dense", color: denseColor, steps: steps, values: dense, plotted: dense),
            frame.legend([("dead (count 0)", deadColor, false), ("dense (density >= 1e-2)", denseColor, false)]),
        ]
        return frame.svg(panel: "dead-dense", title: "dead and dense features of '\(run)'", items)
    }

    /// Activation vectors seen at each step: what `density show RUN --step S` prints as `vectors`.
    /// - Parameters:
    ///   - run: The run's name, for the title.
    ///   - points: Per checkpoint: step and cumulative vectors.
    ///   - width: The chart's width in pixels.
    package static func vectors(run: String, points: [(step: Int64, vectors: Int64)], width: Double = 920) -> SVG {
        let steps = points.map(\.step)
        let values = points.map { Double($0.vectors) }
        let peak = values.max() ?? 0
        let yTicks = ChartFrame.ticks(0...max(1, peak), count: 5, integers: true)
        let frame = ChartFrame(width: width, height: 240, xDomain: stepDomain(steps),
                               yDomain: 0...max(1, peak, yTicks.last ?? 1))
        let items: [SVG] = [
            frame.axes(x: stepTicks(frame, steps: steps), y: ChartFrame.labelled(yTicks), xLabel: "step", yLabel: "vectors seen"),
            series(frame, name: "vectors", color: barColor, steps: steps, values: values, plotted: values),
        ]
        return frame.svg(panel: "vectors", title: "activation vectors seen by '\(run)'", items)
    }

    // MARK: - One feature

    /// One feature's cumulative density and window density at each point, on a log scale with a
    /// row for 0 at the bottom: what `density trend RUN --feature F` prints as `density` and
    /// `window_density` (the window series has no point where that is null).
    /// - Parameters:
    ///   - run: The run's name, for the title.
    ///   - feature: The feature as written (`7`, or `1:7` with a component).
    ///   - points: The trend's points (thinned or not).
    ///   - windows: Their window densities (``TrendCommand/windowDensities(_:)``).
    ///   - width: The chart's width in pixels.
    package static func trend(run: String, feature: String, points: [TrendPoint], windows: [Double?], width: Double = 455) -> SVG {
        let steps = points.map(\.step)
        let cumulative = points.map(\.density)
        let windowed = zip(steps, windows).compactMap { step, value in value.map { (step, $0) } }
        let positive = (cumulative + windowed.map(\.1)).filter { $0 > 0 && $0.isFinite }
        var high = (log10(positive.max() ?? 1)).rounded(.up)
        var low = max(-10, (log10(positive.min() ?? 1e-4)).rounded(.down))
        if high - low < 1 { low = high - 1 }
        if high > 0 { high = 0 }
        if low >= high { low = high - 1 }
        let zeroRow = low - 0.7
        var frame = ChartFrame(width: width, height: 260, xDomain: stepDomain(steps), yDomain: (low - 0.9)...high)
        frame.left = 62
        func plotted(_ value: Double) -> Double { value > 0 ? max(low, log10(value)) : zeroRow }
        let separator = SVG.number(frame.y(low - 0.35))
        var items: [SVG] = [
            SVG("line", ["class": "zero-separator", "x1": SVG.number(frame.plotLeft), "x2": SVG.number(frame.plotRight),
                         "y1": separator, "y2": separator, "stroke": "#bbbbbb", "stroke-dasharray": "2 3"]),
            frame.axes(x: stepTicks(frame, steps: steps, count: 5),
                       y: ChartFrame.decadeTicks(low...high) + [ChartFrame.Tick(value: zeroRow, label: "0")],
                       xLabel: "step", yLabel: "density (log scale)"),
            series(frame, name: "density", color: cumulativeColor, steps: steps, values: cumulative,
                   plotted: cumulative.map { $0.isFinite ? plotted($0) : .nan }),
            series(frame, name: "window density", color: windowColor, dashed: true, steps: windowed.map(\.0),
                   values: windowed.map(\.1), plotted: windowed.map { plotted($0.1) }),
            frame.legend([("cumulative", cumulativeColor, false), ("window", windowColor, true)]),
        ]
        if positive.isEmpty {
            items.append(SVG("text", ["class": "annotation", "x": SVG.number((frame.plotLeft + frame.plotRight) / 2),
                                      "y": SVG.number(frame.y(high - 0.5)), "text-anchor": "middle", "fill": "#666666"],
                             text: "never fired in these steps"))
        }
        return frame.svg(panel: "trend", title: "feature \(feature)", items)
            .with("data-feature", feature).with("data-run", run)
    }

    // MARK: - Helpers

    /// A line (and, when short, a marker per point); non-finite plotted values are skipped.
    package static func series(_ frame: ChartFrame, name: String, color: String, dashed: Bool = false, steps: [Int64],
                       values: [Double], plotted: [Double]) -> SVG {
        let points = zip(steps, plotted).filter { $0.1.isFinite }.map { (x: Double($0.0), y: $0.1) }
        var children = [frame.line(series: name, color: color, dashed: dashed, steps: steps, values: values, plotted: points)]
        if points.count <= markerLimit {
            children += points.map { point in
                SVG("circle", ["class": "marker", "cx": SVG.number(frame.x(point.x)), "cy": SVG.number(frame.y(point.y)),
                               "r": "2.5", "fill": color])
            }
        }
        return SVG("g", ["class": "series-group", "data-series": name], children)
    }

    /// The x range of a list of steps (a single step gets a range around it).
    package static func stepDomain(_ steps: [Int64]) -> ClosedRange<Double> {
        guard let first = steps.first, let last = steps.last, last > first else {
            let step = Double(steps.first ?? 0)
            return (step - 1)...(step + 1)
        }
        return Double(first)...Double(last)
    }

    /// Round step ticks within the frame's x range; the step itself when there is one.
    package static func stepTicks(_ frame: ChartFrame, steps: [Int64], count: Int = 8) -> [ChartFrame.Tick] {
        if let first = steps.first, steps.last == first { return ChartFrame.labelled([Double(first)]) }
        return ChartFrame.labelled(ChartFrame.ticks(frame.xDomain, count: count, integers: true))
    }
}
