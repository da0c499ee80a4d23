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
    /// screen held before; lines past the screen's height are left out.
    func draw(_ lines: [String], height: Int) {
        var shown = lines
        if shown.count > height {
            shown = Array(shown.prefix(max(0, height - 1))) + ["… (\(lines.count - height + 1) more lines: enlarge the terminal)"]
        }
        Self.write("\u{1B}[H" + shown.map { $0 + "\u{1B}[K" }.joined(separator: "\r\n") + "\u{1B}[J")
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
