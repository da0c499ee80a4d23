import ArgumentParser
import DensityStore
import Foundation

/// `density watch`: a live dashboard of a run in the terminal.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "A live terminal dashboard of a run: it redraws when a checkpoint lands.",
        discussion: """
            Shows the step and vectors, the recording rate (checkpoints per minute and vectors per \
            second over the latest 20 checkpoints), the dead and dense counts with sparklines over \
            training, the log10-density histogram, the risers and fallers of the last window \
            (--last checkpoints, against the previous window of the same length in steps, as \
            `density diff`), and the steps still waiting for ranks.

            It reads the store read-only and never writes to it, so it can run beside the training \
            that records (in tmux, or over SSH). It asks SQLite every --interval seconds whether \
            anything was committed (PRAGMA data_version) and reads the store only when so. \
            A store deleted or replaced by another file (e.g. restored from a copy) is said on \
            screen and followed: the new file is read, or the view waits for one to appear.
            Keys: q quits (Ctrl-C too); the terminal is restored either way.
            Without a terminal (piped, or in a log) it prints one plain frame per new checkpoint; \
            --once prints one frame and exits.
              density watch l1-1e-3
              density watch l1-1e-3 --db /scratch/runs.sqlite --interval 5
              density watch l1-1e-3 --once
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(help: ArgumentHelp("Seconds between looks at the store (0.1 to 3600).", valueName: "seconds"))
    var interval: Double = 2

    @Option(help: ArgumentHelp("The last window, for risers and fallers: this many checkpoint intervals ending at the latest.", valueName: "K"))
    var last: Int = 10

    @Option(help: "How many risers and fallers to list (0: none, and no window is read).")
    var top: Int = 5

    @Flag(help: "Print one frame and exit.")
    var once = false

    func validate() throws {
        guard interval >= 0.1, interval <= 3600 else {
            throw ValidationError("--interval must be from 0.1 to 3600 seconds, got \(interval)")
        }
        guard last >= 1 else { throw ValidationError("--last must be >= 1 checkpoint interval, got \(last)") }
        guard (0...50).contains(top) else { throw ValidationError("--top must be from 0 to 50, got \(top)") }
    }

    func run() throws {
        // The first frame's errors (no such run, a damaged store) end the command; later ones
        // are shown in the frame while the view goes on.
        let located = try store.openRun(runName)
        var source = try WatchSource(path: located.path, run: located.run, last: last, top: top, interval: interval)
        if once || !Terminal.isInteractive {
            let width = Self.plainWidth
            Console.out(source.frame.lines(width: width, now: Date(), interactive: false).joined(separator: "\n") + "\n")
            if once { return }
            Terminal.installSignalHandlers()
            while !Terminal.stopRequested {
                Thread.sleep(forTimeInterval: interval)
                if source.poll() {
                    Console.out("\n" + source.frame.lines(width: width, now: Date(), interactive: false).joined(separator: "\n") + "\n")
                }
            }
            return
        }
        Terminal.installSignalHandlers()
        let terminal = Terminal()
        defer { terminal.restore() }
        var size = Terminal.size
        terminal.draw(source.frame.lines(width: size.width, now: Date(), interactive: true), width: size.width, height: size.height)
        while !Terminal.stopRequested {
            let keys = terminal.readKeys(waiting: interval)
            if keys.contains(UInt8(ascii: "q")) || keys.contains(UInt8(ascii: "Q")) { break }
            if Terminal.stopRequested { break }
            if Terminal.takeResize() { size = Terminal.size }
            _ = source.poll()
            terminal.draw(source.frame.lines(width: size.width, now: Date(), interactive: true), width: size.width, height: size.height)
        }
    }

    /// The width of a plain frame: $COLUMNS when set, else 100.
    static var plainWidth: Int {
        ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init).map { max(40, $0) } ?? 100
    }
}
