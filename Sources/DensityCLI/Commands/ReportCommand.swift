import ArgumentParser
import DensityStore
import Foundation
import DensityViews

/// `density report`: a run's density history as one self-contained HTML page.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a run's density history as one self-contained HTML file of charts.",
        discussion: """
            The page holds inline SVG and CSS only (no script, font or network reference), so it \
            opens in any browser, offline, and can be mailed or archived as is. It shows the \
            log10(density + 1e-10) histogram at the latest step (dead and dense marked), the \
            histogram over training as a heatmap, dead and dense counts and vectors seen over \
            training, and the trends of a few features: given with --features, or the fastest \
            risers, fallers and the most recently dead of the last quarter of the steps shown. \
            Under each chart are the commands that print its numbers.
            Built from the summaries stored with every checkpoint, so a wide, long run takes seconds.
              density report demo
              density report demo --out demo.html --from 2000 --to 8000 --features 7,12
            A run with components takes C:F in --features (feature F of component C).
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(help: ArgumentHelp("The HTML file to write, or - for stdout.", valueName: "file"))
    var out = "report.html"

    @Option(parsing: .unconditional, help: ArgumentHelp("The first step shown: a step, first, latest, or -K.", valueName: "step"))
    var from: StepSpec?

    @Option(parsing: .unconditional, help: ArgumentHelp("The last step shown: a step, latest, first, or -K.", valueName: "step"))
    var to: StepSpec?

    @Option(help: ArgumentHelp("Features whose trends to draw, comma-separated: F, or C:F with components.", valueName: "f1,f2,..."))
    var features: String?

    @Option(help: "Without --features: how many risers, fallers and recently dead features to draw.")
    var top = 2

    @Flag(help: "Overwrite the output file if it exists.")
    var force = false

    func validate() throws {
        if let features, ReportData.FeatureRef.list(features) == nil {
            throw ValidationError("--features takes 0-based feature indexes separated by commas, e.g. 3,17 (C:F with components), got '\(features)'")
        }
        guard (0...50).contains(top) else { throw ValidationError("--top must be from 0 to 50, got \(top)") }
        try to?.requireCheckpoint(flag: "--to")
        if out.isEmpty { throw ValidationError("--out needs a file name") }
    }

    func run() throws {
        let target = try ExportTarget(path: out, force: force)  // checked before any work
        let located = try store.openRun(runName)
        let store = located.store
        let terminal = Console.stderrIsTerminal
        let data = try ReportData.load(
            store: store, run: located.run, from: from, to: to, features: features.flatMap(ReportData.FeatureRef.list),
            top: top, progress: { text in
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K  report: \(text)".utf8)) }
            })
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let html = HTMLReport(data: data, db: self.store.paths.isEmpty ? nil : located.path).html
        _ = try target.write { file in try file.append(html) }
        Console.message("wrote \(target.name)\(target.note): run '\(runName)', steps \(data.shown[0].checkpoint.step) to \(data.latest.checkpoint.step) (\(data.shown.count) checkpoints), \(data.trends.count) feature trend\(data.trends.count == 1 ? "" : "s"), \(html.utf8.count / 1024) KiB")
    }
}
