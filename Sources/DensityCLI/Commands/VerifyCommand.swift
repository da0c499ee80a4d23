import ArgumentParser
import DensityStore
import Foundation
import Synchronization
import DensityViews

/// `density verify`: check the whole store, or one run, for damage.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the store for damage: SQLite's integrity check, then every chunk of every checkpoint.",
        discussion: """
            Runs SQLite's PRAGMA integrity_check (--quick: quick_check), then decodes every chunk of \
            every checkpoint along its delta chain: checksums, encodings, counts that never decrease \
            and never exceed the vectors seen, and the stored summaries. Each problem is printed on \
            stdout with its run, step, component and chunk (the same text a query reading that chunk \
            fails with); the exit status is 1 when anything is wrong, 0 with one "ok" line otherwise. \
            It only reads, and may run while a writer is active (it checks one consistent snapshot).
              density verify
              density verify l1-1e-3 --format json
            JSON: {"ok","sqlite_check","runs","checkpoints","chunks","problems":[{"run","step","component","chunk","message"}]}
            CSV: run,step,component,chunk,message, one row per problem (the header alone when all is well).
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("Check only this run (default: every run).", valueName: "run"))
    var runName: String?

    @Flag(help: "Run SQLite's quick_check instead of integrity_check (faster on large stores).")
    var quick = false

    @Option(help: "table, json or csv (one row per problem; only the header when all is well).")
    var format: OutputFormat = .table

    func run() throws {
        let store = try store.openForReading()
        let progress = Mutex<Progress?>(nil)
        let report = try store.verify(run: runName, quick: quick) { checked, total in
            progress.withLock { shown in
                if shown == nil { shown = Progress("verifying \(total) checkpoints", total: total) }
                shown?.update(to: checked)
            }
        }
        progress.withLock { $0?.finish() }
        let counts = "\(report.runs) runs, \(report.checkpoints) checkpoints, \(report.chunks) chunks verified"
        switch format {
        case .json:
            let problems = report.problems.map { problem in
                JSONValue.object([
                    ("run", problem.run.map(JSONValue.string) ?? .null), ("step", problem.step.map(JSONValue.int) ?? .null),
                    ("component", .int(problem.component)), ("chunk", .int(problem.chunk)),
                    ("message", .string(problem.message)),
                ])
            }
            Console.out(JSONValue.object([
                ("ok", .bool(report.isOK)), ("sqlite_check", .string(report.sqliteCheck)),
                ("runs", .int(Int64(report.runs))), ("checkpoints", .int(Int64(report.checkpoints))),
                ("chunks", .int(Int64(report.chunks))), ("problems", .array(problems)),
            ]).text + "\n")
        case .csv:
            var text = "run,step,component,chunk,message\n"
            for problem in report.problems {
                text += [Console.csvField(problem.run ?? ""), problem.step.map(String.init) ?? "", problem.component.map(String.init) ?? "",
                         problem.chunk.map(String.init) ?? "", Console.csvField(problem.message)].joined(separator: ",") + "\n"
            }
            Console.out(text)
        case .table:
            if report.isOK {
                Console.out("ok: \(counts) (SQLite \(report.sqliteCheck): ok)\n")
            } else {
                Console.out(report.problems.map(\.message).joined(separator: "\n") + "\n")
            }
        }
        if !report.isOK {
            Console.message("Error: \(report.problems.count) problem(s) found; \(counts). Queries that read a damaged chunk fail with the message above; those that do not still work. Restore the store from a backup, or export the runs' undamaged steps")
            throw ExitCode(1)
        }
    }
}
