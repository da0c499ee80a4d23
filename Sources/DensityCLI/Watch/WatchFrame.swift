import DensityMetric
import DensityStore
import DensityViews
import Foundation

/// One screen of `density watch`: what it reads from the store, and how it is drawn in text.
///
/// Every number comes from the library calls the query commands make, so each equals what they
/// print: the stored summaries (`show`, `histogram --over-training`), the pending ranks (`runs`,
/// `show`), and the risers and fallers of ``ReportData/movers(store:run:from:to:top:recentlyDead:)``
/// (`diff`'s window against the previous window of the same length in steps).
struct WatchFrame {
    /// The run.
    var run: Run
    /// Every checkpoint of the run with its stored summary, in step order.
    var summaries: [(checkpoint: Checkpoint, summary: DensitySummary)]
    /// Steps some ranks have written and others not yet.
    var pending: [PendingStep]
    /// The risers and fallers of the last window, or `nil` with ``moversNote`` saying why.
    var movers: ReportData.Movers?
    /// Why no risers and fallers are shown, when none are.
    var moversNote: String?
    /// A problem met while reading, shown in the frame (a live view keeps going).
    var problem: String?
    /// What happened to the store's file (deleted, replaced), shown under the title.
    var notice: String?

    /// The rows of the histogram: the stored 50 bins grouped into this many.
    static let histogramBins = 10
    /// The recording rate is measured over at most this many of the latest checkpoints.
    static let rateCheckpoints = 20

    /// What identifies the data shown: a frame with the same key shows the same checkpoints.
    var key: [Int64] {
        [summaries.last?.checkpoint.id ?? -1, Int64(summaries.count)] + pending.flatMap { [$0.step, Int64($0.ranks.count)] }
    }

    // MARK: - Reading

    /// Reads a frame.
    /// - Parameters:
    ///   - store: The store, open for reading.
    ///   - name: The run.
    ///   - last: The last window spans this many checkpoint intervals, ending at the latest.
    ///   - top: How many risers and fallers to list.
    static func load(store: DensityStore, run name: String, last: Int, top: Int) throws -> WatchFrame {
        try store.read { try load($0, run: name, last: last, top: top) }
    }

    /// Reads a frame from one snapshot.
    static func load(_ store: StoreSnapshot, run name: String, last: Int, top: Int) throws -> WatchFrame {
        let run = try store.run(named: name)
        let summaries = try store.summaries(run: name)
        let pending = run.worldSize > 1 ? try store.pendingSteps(run: name) : []
        var frame = WatchFrame(run: run, summaries: summaries, pending: pending)
        let steps = summaries.map(\.checkpoint.step)
        if steps.count < 2 {
            frame.moversNote = "risers and fallers: from the second checkpoint on"
        } else if top > 0 {
            let end = steps[steps.count - 1]
            let start = steps[max(0, steps.count - 1 - last)]
            frame.movers = try ReportData.movers(store, run: run, from: start, to: end, top: top, recentlyDead: 0)
            if frame.movers == nil {
                frame.moversNote = "risers and fallers of (\(start), \(end)]: no previous window of the same length with vectors yet"
            }
        }
        return frame
    }

    // MARK: - Drawing

    /// The frame as lines of text at most `width` columns wide (block characters count one).
    /// - Parameters:
    ///   - width: The terminal's width in columns.
    ///   - now: The time "ago" is measured from.
    ///   - interactive: Whether keys work (the header then says how to quit).
    func lines(width: Int, now: Date, interactive: Bool) -> [String] {
        var lines: [String] = []
        let title = "density watch · run '\(run.name)'"
        guard let (latest, summary) = summaries.last else {
            lines.append(title)
            if let notice { lines.append("! \(notice)") }
            lines.append("waiting for the first checkpoint (\(run.describeShape))")
            lines.append(contentsOf: pendingLines())
            if let problem { lines.append("! \(problem)") }
            return lines.map { Terminal.clip($0, width) }
        }
        lines.append(title + " · step \(latest.step) · \(summaries.count) checkpoint\(summaries.count == 1 ? "" : "s")"
                     + (interactive ? " · q quits" : ""))
        if let notice { lines.append("! \(notice)") }
        let shape = run.components.map { "\(run.features) features x \($0) components" } ?? "\(run.features) features"
        var facts = ["vectors \(summary.vectors)", shape, "mean density \(Console.format(summary.meanDensity))",
                     "non-finite \(summary.nonFinite)"]
        if latest.approximate { facts.append("approximate (imported densities)") }
        lines.append(facts.joined(separator: " · "))
        lines.append(contentsOf: rateLines(now: now))
        if let problem { lines.append("! \(problem)") }
        lines.append("")
        lines.append(contentsOf: healthLines(width: width))
        lines.append("")
        lines.append(contentsOf: histogramLines(latest: latest, summary: summary, width: width))
        lines.append("")
        lines.append(contentsOf: moverLines())
        lines.append(contentsOf: pendingLines())
        return lines.map { Terminal.clip($0, width) }
    }

    /// Checkpoints per minute and vectors per second over the latest checkpoints, from the times
    /// they were written; and how long ago the latest was.
    func rateLines(now: Date) -> [String] {
        let recent = summaries.suffix(Self.rateCheckpoints).map(\.checkpoint)
        let times = recent.compactMap { Self.date($0.wallTime) }
        var text = "rate "
        if times.count == recent.count, recent.count >= 2, let first = times.first, let last = times.last,
           last.timeIntervalSince(first) > 0 {
            let seconds = last.timeIntervalSince(first)
            let perMinute = Double(recent.count - 1) / seconds * 60
            let perSecond = Double(recent[recent.count - 1].vectors - recent[0].vectors) / seconds
            text += "\(Self.rate(perMinute)) checkpoints/min · \(Self.rate(perSecond)) vectors/s (over the last \(recent.count) checkpoints)"
        } else {
            text += "n/a (needs two checkpoints written at different times)"
        }
        guard let last = recent.last, let written = times.last else { return [text] }
        let ago = max(0, Int(now.timeIntervalSince(written)))
        return [text, "latest checkpoint written \(last.wallTime.prefix(19).replacingOccurrences(of: "T", with: " ")) UTC, \(Self.duration(ago)) ago"]
    }

    /// Dead and dense counts at the latest checkpoint, each with a sparkline over training.
    func healthLines(width: Int) -> [String] {
        let (_, summary) = summaries[summaries.count - 1]
        let share = { (count: Int) in "\(count) (\(Console.format(100 * Double(count) / Double(summary.width)))%)" }
        let labels = [("dead (count 0)", share(summary.dead)), ("dense (>= 1e-2)", share(summary.dense))]
        let labelWidth = labels.map { $0.0.count + 2 + $0.1.count }.max()! + 2
        let points = TrendCommand.thin(summaries.count, every: nil, points: max(2, min(120, width - labelWidth - 1)))
        let spanned = "over training: step \(summaries[points[0]].checkpoint.step) to \(summaries[points[points.count - 1]].checkpoint.step)"
            + (points.count < summaries.count ? ", \(points.count) of \(summaries.count) checkpoints" : "")
        let series: [[Double?]] = [
            points.map { Double(summaries[$0].summary.dead) },
            points.map { Double(summaries[$0].summary.dense) },
        ]
        var lines = zip(labels, series).map { label, values in
            let head = label.0 + "  " + label.1
            return head + String(repeating: " ", count: labelWidth - head.count) + (Sparkline.draw(values) ?? "")
        }
        lines.append(String(repeating: " ", count: labelWidth) + spanned)
        return lines
    }

    /// The log10-density histogram of the latest checkpoint's cumulative densities.
    func histogramLines(latest: Checkpoint, summary: DensitySummary, width: Int) -> [String] {
        let bins = Self.histogramBins
        guard let counts = TextHistogram.regroup(summary.histogram, into: bins) else {
            return ["(the stored histogram of step \(latest.step) has \(summary.histogram.count) bins)"]
        }
        return ["features per bin of log10(density + 1e-10) at step \(latest.step), since the start"]
            + TextHistogram.lines(counts, style: .pane(width: width))
    }

    /// The risers and fallers of the last window, side by side.
    func moverLines() -> [String] {
        guard let movers else { return moversNote.map { [$0] } ?? [] }
        let previous = "(\(movers.previousFrom.map(String.init) ?? "start"), \(movers.from)]"
        var lines = ["last window (\(movers.from), \(movers.to)] against \(previous) (density diff --from \(movers.from))"]
        let name = { (index: Int) in
            run.components == nil ? String(index % run.features) : "\(index / run.features):\(index % run.features)"
        }
        let rows = { (list: [WindowMovers.Change]) in
            list.map { [name($0.index), Console.format($0.before), Console.format($0.now)] }
        }
        let header = ["feature", "before", "now"]
        let risers = Console.table(header, rows(movers.risers)).split(separator: "\n").map(String.init)
        let fallers = Console.table(header, rows(movers.fallers)).split(separator: "\n").map(String.init)
        let left = max(risers.map(DisplayWidth.of).max() ?? 0, DisplayWidth.of("risers")) + 4
        lines.append(DisplayWidth.padRight("risers", left) + "fallers")
        for index in 0..<max(risers.count, fallers.count) {
            let rise = index < risers.count ? risers[index] : ""
            let fall = index < fallers.count ? fallers[index] : ""
            lines.append(DisplayWidth.padRight(rise, left) + fall)
        }
        if movers.risers.isEmpty && movers.fallers.isEmpty { lines.append("(no feature's density changed)") }
        return lines
    }

    /// Steps waiting for ranks, the latest few.
    func pendingLines() -> [String] {
        guard !pending.isEmpty else { return [] }
        var lines = [""] + pending.suffix(5).map { step in
            "pending: step \(step.step) waits for rank\(step.missing.count == 1 ? "" : "s") \(step.missing.map(String.init).joined(separator: ", "))"
                + " (\(step.ranks.count) of \(step.worldSize) written)"
        }
        if pending.count > 5 { lines.insert("pending: \(pending.count - 5) earlier steps not shown", at: 1) }
        return lines
    }

    // MARK: - Helpers

    /// A stored wall time (`2026-01-01T12:00:00.000Z`) as a date.
    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// A rate with at most one decimal: `12.5`, `40960`.
    static func rate(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    /// `42 s`, `3 min`, `5 h`.
    static func duration(_ seconds: Int) -> String {
        seconds < 120 ? "\(seconds) s" : seconds < 7200 ? "\(seconds / 60) min" : "\(seconds / 3600) h"
    }
}
