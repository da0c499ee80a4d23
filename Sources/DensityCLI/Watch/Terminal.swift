import DensityViews
import Foundation
import Synchronization

/// The terminal a full-screen view draws on: the alternate screen with the cursor hidden, keys
/// read one at a time without echo, and everything put back as it was on ``restore()``, on `q`,
/// Ctrl-C, SIGTERM or SIGHUP alike.
final class Terminal {
    /// The last signal that asked the view to stop (SIGINT, SIGTERM, SIGHUP), or 0.
    private static let stopSignal = Atomic<Int32>(0)
    /// Set by SIGWINCH: the window changed size.
    private static let resized = Atomic<Bool>(false)

    /// Whether SIGINT, SIGTERM or SIGHUP arrived since ``installSignalHandlers()``.
    static var stopRequested: Bool { stopSignal.load(ordering: .relaxed) != 0 }

    /// Whether the window changed size since the last call.
    static func takeResize() -> Bool { resized.exchange(false, ordering: .relaxed) }

    /// The settings to put back.
    private var saved = termios()
    private var restored = false

    /// Whether standard output and input are both terminals (a full-screen view needs both).
    static var isInteractive: Bool { isatty(STDOUT_FILENO) == 1 && isatty(STDIN_FILENO) == 1 }

    /// Installs the stop and resize handlers (they only set flags, which the loop reads) and
    /// unblocks their signals, which a parent may have left blocked in the mask it passed on.
    static func installSignalHandlers() {
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            Glibc.signal(signal) { number in Terminal.stopSignal.store(number, ordering: .relaxed) }
            sigaddset(&unblock, signal)
        }
        Glibc.signal(SIGWINCH) { _ in Terminal.resized.store(true, ordering: .relaxed) }
        sigaddset(&unblock, SIGWINCH)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// Enters the alternate screen, hides the cursor and turns off line buffering and echo
    /// (Ctrl-C still sends SIGINT).
    init() {
        tcgetattr(STDIN_FILENO, &saved)
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        Self.write("\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J")
    }

    /// Shows the cursor, leaves the alternate screen and restores the input settings.
    func restore() {
        guard !restored else { return }
        restored = true
        Self.write("\u{1B}[?25h\u{1B}[?1049l")
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
    }

    deinit { restore() }

    /// Draws `lines` from the top-left corner, clearing what each line and the rest of the
    /// screen held before, fitted to the screen by ``fit(_:width:height:)``.
    func draw(_ lines: [String], width: Int, height: Int) {
        let shown = Self.fit(lines, width: width, height: height)
        Self.write("\u{1B}[H" + shown.map { $0 + "\u{1B}[K" }.joined(separator: "\r\n") + "\u{1B}[J")
    }

    /// `lines` fitted to a screen of `width` columns and `height` rows, so that nothing wraps or
    /// scrolls and the first line (the title) stays on top: lines past the height give way to
    /// one that says how many are hidden, and every line, that one included, is cut to the width.
    static func fit(_ lines: [String], width: Int, height: Int) -> [String] {
        var shown = lines
        if shown.count > height {
            let hidden = lines.count - max(1, height) + 1
            shown = height <= 1 ? [shown[0]]
                : Array(shown.prefix(height - 1)) + ["… \(hidden) more lines (enlarge the terminal)"]
        }
        return shown.map { clip($0, width) }
    }

    /// A line cut to `width` columns (measured as every table measures them, ``DisplayWidth``).
    static func clip(_ line: String, _ width: Int) -> String {
        guard DisplayWidth.of(line) > width else { return line }
        guard width > 1 else { return width == 1 ? "…" : "" }
        var kept = "", used = 0
        for character in line {
            let columns = DisplayWidth.of(String(character))
            if used + columns > width - 1 { break }
            kept.append(character)
            used += columns
        }
        return kept + "…"
    }

    /// Waits up to `seconds` for a key; returns the bytes read (empty on time-out or a signal).
    func readKeys(waiting seconds: Double) -> [UInt8] {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(seconds * 1000)) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = read(STDIN_FILENO, &buffer, buffer.count)
        return count > 0 ? Array(buffer.prefix(count)) : []
    }

    /// The window's size in columns and rows; 100 x 40 when it cannot be read.
    static var size: (width: Int, height: Int) {
        var window = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 0 else {
            return (100, 40)
        }
        return (Int(window.ws_col), Int(window.ws_row))
    }

    /// Writes to standard output at once.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
