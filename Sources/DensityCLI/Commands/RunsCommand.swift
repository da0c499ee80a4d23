import ArgumentParser
import DensityMetric
import DensityStore
import DensityViews
import Foundation

/// `density runs`: the sweep table, one row per run of one store or several.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs of one store or several: a sweep's table of meta, health and progress.",
        discussion: """
            Per run: its meta fields (`create --meta`) as columns, the latest step and vectors, \
            dead and dense features (count and fraction), the mean log10(density + 1e-10) (from \
            the stored 0.2-wide histogram, within 0.1), checkpoints, how long ago the latest one \
            landed, the recording rate (steps a second over the run), and sparklines of the dead \
            and dense fractions over training. All from the summaries stored with each checkpoint \
            (no counts are decoded). Several stores are read as one (--db repeated, or a glob): a \
            run name two stores hold is shown as name@store; a store that cannot be read is \
            reported and skipped. A mirror (`record --mirror`) says how old its snapshot is.
              density runs
              density runs --db 'mirrors/*.sqlite'
              density runs --db a.sqlite --db b.sqlite --format json
              density runs --db 'mirrors/*.sqlite' --sort -dead --where l1=0.001
            --sort and --where take any column, built-in or a meta key, and apply to every format. \
            JSON: [{"name","run","store","features","components","checkpoints","latest_step",\
            "vectors","world_size","pending_steps","fire_threshold","meta","dead":{"count","fraction"},\
            "dense":{"count","fraction"},"mean_log10_density","created_at","latest_checkpoint_at",\
            "rate":{"steps_per_second","checkpoints_per_minute"},"trail":[[step,dead_fraction,\
            dense_fraction],...] (up to 64 checkpoints),"mirror":{"source","snapshot_at",\
            "age_seconds"}}]; absent values are null.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "table, json or csv.")
    var format: OutputFormat = .table

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Sort by a column: name, store, features, step, vectors, checkpoints, dead, dense (fractions), log10, latest, rate, or a meta key; -COLUMN for descending.",
        valueName: "column"))
    var sort: String?

    @Option(name: .customLong("where"), help: ArgumentHelp(
        "Keep the runs whose column compares so with the value: =, !=, <, <=, > or >= (numbers as numbers), e.g. l1=0.001 or 'dead>0.1'. Repeatable: all must hold.",
        valueName: "column=value"))
    var filters: [String] = []

    func validate() throws {
        for text in filters where SweepColumn.Filter(parsing: text) == nil {
            throw ValidationError("--where '\(text)' is not COLUMN, a comparison (=, !=, <, <=, >, >=) and a value; e.g. --where l1=0.001 or --where 'dead>0.1'")
        }
        if let sort, sort.drop { $0 == "-" }.isEmpty {
            throw ValidationError("--sort needs a column, e.g. --sort l1, or --sort -dead for the most dead first")
        }
    }

    /// The entries kept by `--where` and ordered by `--sort`.
    /// - Throws: ``CLIError`` for a column no run has.
    func selected(_ entries: [SweepJSON.Entry]) throws -> [SweepJSON.Entry] {
        let columns = SweepColumn.names(entries)
        let known = { (column: String, option: String) throws in
            guard columns.contains(column) else {
                throw CLIError("\(option): no column '\(column)'; the columns are \(columns.joined(separator: ", "))")
            }
        }
        var kept = entries
        for filter in filters.compactMap(SweepColumn.Filter.init(parsing:)) {
            try known(filter.column, "--where")
            kept = kept.filter(filter.matches)
        }
        guard let sort else { return kept }
        let descending = sort.hasPrefix("-"), column = String(sort.drop { $0 == "-" })
        try known(column, "--sort")
        return SweepColumn.sorted(kept, by: column, descending: descending)
    }

    func run() throws {
        let set = try store.openSeveral()
        var rows: [(member: Int, row: SweepRow)] = [], mirrors: [MirrorOrigin?] = []
        for (index, member) in set.members.enumerated() {
            do {
                // A store's rows and its mirror origin, from one snapshot of it.
                let (origin, sweep) = try member.store.read { (try $0.mirrorOrigin(), try $0.sweep()) }
                rows += sweep.map { (index, $0) }
                mirrors.append(origin)
            } catch {
                if set.members.count == 1 { throw error }
                Console.message("warning: skipped the store '\(member.path)': \(ErrorText.render(error))")
                mirrors.append(nil)
            }
        }
        let all = SweepJSON.entries(rows.map { (store: $0.member, row: $0.row) }, names: set.names, mirrors: mirrors)
        let entries = try selected(all)
        let now = Date()
        switch format {
        case .json:
            Console.out(SweepJSON.runs(entries, now: now).text + "\n")
        case .csv:
            let keys = Self.metaKeys(entries)
            var text = (["name", "features", "components", "checkpoints", "latest_step", "vectors", "world_size",
                         "pending_steps", "store", "dead", "dead_fraction", "dense", "dense_fraction", "mean_log10_density",
                         "latest_checkpoint_at", "steps_per_second"] + keys.map { "meta." + $0 }).map(Console.csvField)
                .joined(separator: ",") + "\n"
            for entry in entries {
                let row = entry.row, meta = SweepColumn.meta(entry)
                var fields = [entry.name, String(row.run.features), row.run.components.map(String.init) ?? ""]
                fields += [String(row.checkpointCount), row.latest.map { String($0.step) } ?? "", String(row.latest?.vectors ?? 0)]
                fields += [String(row.run.worldSize), String(row.pendingSteps), entry.store]
                for count in [row.summary?.dead, row.summary?.dense] {
                    fields += [count.map(String.init) ?? "", count.map { "\(row.fraction($0))" } ?? ""]
                }
                fields += [row.meanLog10Density.map { "\($0)" } ?? "", row.latest?.wallTime ?? "",
                           SweepJSON.rate(row).map { "\($0.steps)" } ?? ""]
                fields += keys.map { meta[$0] ?? "" }
                text += fields.map(Console.csvField).joined(separator: ",") + "\n"
            }
            Console.out(text)
        case .table:
            if all.isEmpty {
                Console.message("no runs yet; create one with `density create RUN --features F`, or run `density demo`")
            } else if entries.isEmpty {
                Console.message("no run of the \(all.count) matches \(filters.map { "--where '\($0)'" }.joined(separator: " "))")
            } else {
                Console.out(Self.table(entries, several: set.isSeveral, now: now))
            }
            for (member, origin) in zip(set.members, mirrors) {
                if let origin {
                    Console.message("\(member.path): mirror of \(origin.source), snapshot \(Self.age(origin.age(at: now))) old")
                }
            }
        }
    }

    /// The table: run, store (several stores), meta columns, then progress and health.
    static func table(_ entries: [SweepJSON.Entry], several: Bool, now: Date) -> String {
        let keys = metaKeys(entries)
        // Ranks and pending steps only matter, and are only shown, when some run has several ranks.
        let ranked = entries.contains { $0.row.run.worldSize > 1 }
        let header = ["run"] + (several ? ["store"] : []) + keys + ["features", "step", "vectors", "ckpts", "dead", "dense",
                     "log10 d", "latest", "steps/s", "dead over training", "dense over training"]
            + (ranked ? ["ranks", "pending steps"] : [])
        let rows = entries.map { entry -> [String] in
            let row = entry.row, meta = SweepColumn.meta(entry)
            let percent = { (count: Int?) in
                count.map { "\($0) (\(Console.format(100 * row.fraction($0)))%)" } ?? "-"
            }
            let trail = SweepJSON.trail(row, points: 24)
            let landed = row.latest.flatMap { SweepJSON.wallTime($0.wallTime) }.map { age(max(0, now.timeIntervalSince($0))) + " ago" }
            return [entry.name] + (several ? [URL(fileURLWithPath: entry.store).lastPathComponent] : []) + keys.map { meta[$0] ?? "-" }
                + [row.run.components.map { "\(row.run.features)x\($0)" } ?? String(row.run.features),
                   row.latest.map { String($0.step) } ?? "-", String(row.latest?.vectors ?? 0), String(row.checkpointCount),
                   percent(row.summary?.dead), percent(row.summary?.dense),
                   row.meanLog10Density.map { Console.format($0) } ?? "-", landed ?? "-",
                   SweepJSON.rate(row).map { Console.format($0.steps) } ?? "-",
                   Sparkline.draw(trail.map { $0.dead.map(Double.init) }) ?? "-",
                   Sparkline.draw(trail.map { $0.dense.map(Double.init) }) ?? "-"]
                + (ranked ? [String(row.run.worldSize), String(row.pendingSteps)] : [])
        }
        return Console.table(header, rows)
    }

    /// Every meta key of the runs' top-level JSON objects, sorted.
    static func metaKeys(_ entries: [SweepJSON.Entry]) -> [String] {
        Set(entries.flatMap { SweepColumn.meta($0).keys }).sorted()
    }

    /// An age as people read it: 42 s, 7 min, 3.5 h, 2.0 d.
    static func age(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: "\(Int(seconds)) s"
        case ..<7200: "\(Int(seconds / 60)) min"
        case ..<172_800: "\(Console.format((seconds / 360).rounded() / 10)) h"
        default: "\(Console.format((seconds / 8640).rounded() / 10)) d"
        }
    }
}
