import Foundation
import DensityViews
import Testing
@testable import DensityCLI

/// `density watch`: its frame against the query commands, its plain follow mode, and the
/// full-screen view under a real terminal (tmux): redrawn on a new checkpoint, the terminal
/// restored on `q` and on Ctrl-C, and the store never written.
@Suite struct WatchCommandTests {
    /// Numbers shown by `watch --once` equal what `show` and `diff` print for the same run.
    @Test func frameAgreesWithShowAndDiff() throws {
        try Sandbox.with { sandbox in
            try sandbox.recordRun("w", features: 40, steps: [10, 20, 30, 40, 50, 60, 70, 80])
            let frame = try sandbox.ok(["watch", "w", "--once", "--last", "3", "--top", "4"])
            let show = try decode(ShowOutput.self, try sandbox.db(["show", "w", "--format", "json"]), keys: ShowOutput.keys)
            #expect(frame.contains("step \(show.step) · 8 checkpoints"))
            #expect(frame.contains("vectors \(show.vectors) · 40 features"))
            #expect(frame.contains("dead (count 0)  \(show.dead) "))
            #expect(frame.contains("dense (>= 1e-2)  \(show.dense) "))
            // The histogram's rows add up to every feature, and its first row is the dead count.
            let rows = frame.split(separator: "\n").filter { $0.hasPrefix("[") }
            #expect(rows.count == 10)
            let counts = rows.map { row in Int(row.split(separator: " ").first { Int($0) != nil }!)! }
            #expect(counts.reduce(0, +) == 40)
            #expect(rows[0].contains("dead") && counts[0] == show.dead)
            // The last window is (-3, latest], and its risers and fallers are diff's.
            #expect(frame.contains("last window (50, 80] against (20, 50]"))
            let diff = try sandbox.ok(["diff", "w", "--from", "50", "--to", "80", "--top", "4"])
            #expect(Self.firstColumn(of: "risers", in: frame) == Self.firstColumn(of: "risers", in: diff))
            #expect(!Self.firstColumn(of: "risers", in: frame).isEmpty)
        }
    }

    /// A run with no checkpoint yet is waited for; an unknown run is an error naming the known ones.
    @Test func waitsForTheFirstCheckpoint() throws {
        try Sandbox.with { sandbox in
            try sandbox.ok(["create", "empty", "--features", "8"])
            let frame = try sandbox.ok(["watch", "empty", "--once"])
            #expect(frame.contains("waiting for the first checkpoint"))
            try sandbox.fails(["watch", "nope", "--once"], mentioning: ["nope", "empty"])
            try sandbox.fails(["watch", "empty", "--interval", "0"], mentioning: ["--interval"])
        }
    }

    /// Without a terminal it prints one plain frame per new checkpoint and stops cleanly on SIGTERM.
    @Test func followsWithoutATerminal() throws {
        try Sandbox.with { sandbox in
            try sandbox.recordRun("w", features: 12, steps: [1, 2])
            let watch = try BackgroundProcess(sandbox, ["watch", "w", "--interval", "0.1", "--db", sandbox.db])
            try Self.waitFor { watch.stdoutSoFar.contains("step 2 ·") }
            try sandbox.ok(["ingest", "w", "--step", "3", try sandbox.npy("a.npy", "np.ones((3, 12), np.float32)")])
            try Self.waitFor { watch.stdoutSoFar.contains("step 3 ·") }
            kill(watch.pid, SIGTERM)
            let result = try watch.wait()
            #expect(result.status == 0, "\(result)")
            #expect(!result.stdout.contains("\u{1B}"), "a plain frame has no escape sequences")
            #expect(result.stdout.components(separatedBy: "density watch · run 'w'").count - 1 == 2)
        }
    }

    /// Under tmux: the dashboard is drawn, redrawn when a checkpoint lands, and `q` or Ctrl-C
    /// leave the terminal as it was (the shell's screen back, line editing and echo on).
    @Test(.enabled(if: Tmux.isAvailable, "needs tmux (Debian: tmux)"), arguments: ["q", "C-c"])
    func fullScreenUnderTmux(quitKey: String) throws {
        try Sandbox.with { sandbox in
            try sandbox.recordRun("w", features: 12, steps: [1, 2])
            let tmux = try Tmux(sandbox)
            defer { tmux.kill() }
            let binary = try DensityBinary.url().path
            let sttyFile = sandbox.path("stty.txt")
            // The shell survives Ctrl-C (a trap, not an ignored signal, so watch gets SIGINT as usual).
            try tmux.start("trap 'echo' INT; echo BEFORE-WATCH; '\(binary)' watch w --db '\(sandbox.db)' --interval 0.2; stty -a > '\(sttyFile)'; echo AFTER-WATCH; sleep 600")
            try Self.waitFor { try tmux.capture().contains("step 2 · 2 checkpoints · q quits") }
            let first = try tmux.capture()
            #expect(!first.contains("BEFORE-WATCH"), "the dashboard is on the alternate screen")
            #expect(first.contains("[-10, -9) dead"))
            try sandbox.ok(["ingest", "w", "--step", "3", try sandbox.npy("a.npy", "np.ones((3, 12), np.float32)")])
            try Self.waitFor { try tmux.capture().contains("step 3 · 3 checkpoints") }
            // While it watches and redraws, and after it quits, the store's files stay as the writer left them.
            let stored = Self.storeBytes(sandbox)
            Thread.sleep(forTimeInterval: 1)
            #expect(Self.storeBytes(sandbox) == stored, "watching writes nothing")
            try tmux.keys(quitKey)
            try Self.waitFor { try tmux.capture().contains("AFTER-WATCH") }
            let after = try tmux.capture()
            #expect(after.contains("BEFORE-WATCH"), "the shell's screen is back")
            #expect(!after.contains("density watch"), "nothing of the dashboard is left")
            let stty = try String(contentsOfFile: sttyFile, encoding: .utf8)
            #expect(stty.contains(" icanon") && stty.contains(" echo "), "line editing and echo restored: \(stty)")
            #expect(Self.storeBytes(sandbox) == stored, "quitting writes nothing")
        }
    }

    /// Under tmux: the store is replaced by another file (`mv` over it), deleted, and made again
    /// at the same path holding another run first; each time the view says so under its title
    /// and follows: the new store's run, then waiting, then the run once it is recorded.
    @Test(.enabled(if: Tmux.isAvailable, "needs tmux (Debian: tmux)"))
    func followsAReplacedStoreUnderTmux() throws {
        try Sandbox.with { sandbox in
            let other = sandbox.path("other.sqlite"), third = sandbox.path("third.sqlite")
            try Self.demo(sandbox, db: sandbox.db, run: "w", checkpoints: 4, every: 250)   // to step 1000
            try Self.demo(sandbox, db: other, run: "w", checkpoints: 6, every: 100)        // to step 600
            try Self.demo(sandbox, db: third, run: "elsewhere", checkpoints: 4, every: 10)
            let tmux = try Tmux(sandbox)
            defer { tmux.kill() }
            try tmux.start("'\(try DensityBinary.url().path)' watch w --db '\(sandbox.db)' --interval 0.1; sleep 600")
            try Self.waitFor { try tmux.capture().contains("step 1000 · 4 checkpoints") }

            // Replaced: another file renamed over the store.
            try #require(rename(other, sandbox.db) == 0)
            try Self.waitFor { try tmux.capture().contains("step 600 · 6 checkpoints") }
            let replaced = try tmux.capture().split(separator: "\n").map(String.init)
            #expect(replaced[1].hasPrefix("! store replaced by another file at ") && replaced[1].contains("following it"), "\(replaced)")

            // Deleted: the last figures stay, marked as such.
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sandbox.db + suffix) }
            try Self.waitFor { try tmux.capture().contains("! store deleted at ") }
            #expect(try tmux.capture().contains("step 600 · 6 checkpoints"))

            // A store appears without the run: the view says so and waits; the run, once recorded, is shown.
            try #require(rename(third, sandbox.db) == 0)
            try Self.waitFor { try tmux.capture().contains("! store appeared at ") }
            #expect(try tmux.capture().contains("waiting for run 'w' in it"))
            try Self.demo(sandbox, db: sandbox.db, run: "w", checkpoints: 5, every: 10)
            try Self.waitFor { try tmux.capture().contains("step 50 · 5 checkpoints") }
            #expect(!(try tmux.capture().contains("! store")), "the notice goes once new data is shown")
        }
    }

    /// Under tmux, in panes too small for the dashboard: every line, the "more lines" one too,
    /// is cut to the pane's width, nothing wraps, and the title stays on the top row.
    @Test(.enabled(if: Tmux.isAvailable, "needs tmux (Debian: tmux)"), arguments: [(20, 5), (12, 3)])
    func smallPanesKeepTheTitle(width: Int, height: Int) throws {
        try Sandbox.with { sandbox in
            try Self.demo(sandbox, db: sandbox.db, run: "w", checkpoints: 4, every: 250)
            let tmux = try Tmux(sandbox)
            defer { tmux.kill() }
            try tmux.start("'\(try DensityBinary.url().path)' watch w --db '\(sandbox.db)' --interval 0.2; sleep 600",
                           width: width, height: height)
            let size = try tmux.paneSize()
            #expect(size.width == width && size.height == height, "pane \(size)")
            let screen = { try tmux.capture().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
            // Drawn for this pane size (a redraw follows the status line's removal).
            try Self.waitFor { let rows = try screen(); return rows.prefix { !$0.isEmpty }.count == size.height && rows.contains { $0.hasPrefix("… ") } }
            let rows = try screen()
            let shown = rows.prefix { !$0.isEmpty }
            #expect(shown.count == size.height, "\(rows)")
            #expect(rows.first.map { "density watch · run 'w'".hasPrefix($0.dropLast()) && $0.hasSuffix("…") } == true,
                    "the title, cut, on the top row: \(rows)")
            #expect(shown.last?.hasPrefix("… ") == true, "the last row says lines are hidden: \(rows)")
            for row in shown { #expect(DisplayWidth.of(row) <= size.width, "\(row.debugDescription) is wider than the pane") }
            // Once the pane is large enough, the whole frame is drawn.
            try tmux.resize(width: 110, height: 45)
            try Self.waitFor { try tmux.capture().contains("[-1, 0]") }
            #expect(!(try tmux.capture().contains("more lines")))
        }
    }

    /// Fitting a frame to a screen: at most `height` rows, each at most `width` columns, the
    /// title first, and a last row naming how many lines are hidden.
    @Test(arguments: [(20, 5), (12, 3), (5, 2), (1, 1), (200, 100)])
    func fitClipsEveryRow(width: Int, height: Int) {
        let lines = ["density watch · run 'w' · step 1000 · 4 checkpoints · q quits", "vectors 4096 · 64 features",
                     "", "[-10, -9) dead  14  ███████████████████████████████████"] + (1...36).map { "row \($0) " + String(repeating: "x", count: $0) }
        let fitted = Terminal.fit(lines, width: width, height: height)
        #expect(fitted.count == min(height, lines.count))
        for row in fitted { #expect(DisplayWidth.of(row) <= width, "\(row)") }
        #expect(lines[0].hasPrefix(String(fitted[0].prefix(max(0, width - 1)))))
        if height > 1 && height < lines.count {
            #expect(fitted.last == Terminal.clip("… \(lines.count - height + 1) more lines (enlarge the terminal)", width))
        }
        if height >= lines.count && width >= 200 { #expect(fitted == lines) }
    }

    /// Records a synthetic run with `density demo` (no numpy needed), `every` steps apart.
    static func demo(_ sandbox: Sandbox, db: String, run: String, checkpoints: Int, every: Int) throws {
        let result = try sandbox.density(["demo", "--db", db, "--run", run, "--features", "64", "--batch", "64",
                                          "--checkpoints", String(checkpoints), "--every", String(every)])
        try #require(result.status == 0, "\(result)")
    }

    /// The feature column of the table under `title` (the first table after a line starting so).
    static func firstColumn(of title: String, in text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(title) }), start + 2 < lines.count else { return [] }
        return lines[(start + 3)...].prefix { !$0.isEmpty && $0.first?.isNumber == true }
            .map { String($0.split(separator: " ")[0]) }
    }

    /// The bytes of the store and of its write-ahead log.
    static func storeBytes(_ sandbox: Sandbox) -> [Data?] {
        [sandbox.db, sandbox.db + "-wal"].map { try? Data(contentsOf: URL(fileURLWithPath: $0)) }
    }

    /// Polls `condition` every 50 ms for up to 20 s.
    static func waitFor(_ condition: () throws -> Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("timed out waiting", sourceLocation: sourceLocation)
        throw MissingTool()
    }
}

/// A tmux session of its own (its own server socket), 110 x 45, for driving a terminal program.
struct Tmux {
    /// The tmux executable, if installed.
    static let executable = ["/usr/bin/tmux", "/usr/local/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var isAvailable: Bool { executable != nil }

    let sandbox: Sandbox
    let socket: String

    init(_ sandbox: Sandbox) throws {
        self.sandbox = sandbox
        socket = sandbox.root.appendingPathComponent("tmux.sock").path
    }

    /// Starts the session running `command` in `sh`, in a window of `width` x `height` (no
    /// status line, so the pane is the window).
    func start(_ command: String, width: Int = 110, height: Int = 45) throws {
        try run(["new-session", "-d", "-x", String(width), "-y", String(height), "sh", "-c", command])
        try run(["set-option", "-g", "status", "off"])
    }

    /// Resizes the window (the program in it gets SIGWINCH).
    func resize(width: Int, height: Int) throws {
        try run(["resize-window", "-x", String(width), "-y", String(height)])
    }

    /// The pane's size in columns and rows.
    func paneSize() throws -> (width: Int, height: Int) {
        let parts = try run(["display-message", "-p", "#{pane_width} #{pane_height}"])
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        try #require(parts.count == 2, "tmux gave no pane size")
        return (parts[0], parts[1])
    }

    /// The visible screen.
    func capture() throws -> String { try run(["capture-pane", "-p"]) }

    /// Types a key (tmux's names: `q`, `C-c`).
    func keys(_ key: String) throws { _ = try run(["send-keys", key]) }

    func kill() { _ = try? run(["kill-server"], check: false) }

    /// Runs a tmux command to its end (spawned and reaped directly: the server it may fork keeps
    /// running, and nothing waits on it).
    @discardableResult
    private func run(_ arguments: [String], check: Bool = true) throws -> String {
        let process = try BackgroundProcess(sandbox, ["-S", socket, "-f", "/dev/null"] + arguments,
                                            executable: URL(fileURLWithPath: Self.executable ?? "tmux"))
        let result = try process.wait()
        if check { try #require(result.status == 0, "tmux failed: \(result)") }
        return result.stdout
    }
}
