import Foundation

/// A percentage on stderr while a long task runs, such as `  writing out.npy  42%`, redrawn in
/// place; shown only when stderr is a terminal, so logs and pipes get nothing.
///
/// Not thread-safe: use it from the thread doing the work.
///
/// ```swift
/// let progress = Progress("writing out.npy", total: byteCount)
/// for chunk in chunks { write(chunk); progress.advance(by: chunk.count) }
/// progress.finish()
/// ```
final class Progress {
    /// What is being done, shown before the percentage.
    let label: String
    /// The amount of work in all, in any unit; 0 or less shows 100% at once.
    let total: Int
    /// Whether anything is written: by default, whether stderr is a terminal.
    let isShown: Bool
    private let output: (String) -> Void
    private(set) var done = 0
    private var shownPercent = -1
    private var finished = false

    /// A progress line, not drawn until the first ``advance(by:)`` or ``update(to:)``.
    /// - Parameters:
    ///   - label: What is being done.
    ///   - total: The amount of work in all.
    ///   - isShown: Whether to draw it; ``Console/stderrIsTerminal`` by default.
    ///   - output: Where the text goes; stderr by default.
    init(_ label: String, total: Int, isShown: Bool = Console.stderrIsTerminal,
         output: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.label = label
        self.total = total
        self.isShown = isShown
        self.output = output
    }

    /// The whole percentage done, 0 to 100.
    var percent: Int {
        guard total > 0 else { return 100 }
        return Int(min(100, max(0, Double(done) * 100 / Double(total))))
    }

    /// Adds `amount` to the work done and redraws when the percentage changed.
    func advance(by amount: Int) {
        update(to: done + amount)
    }

    /// Sets the work done and redraws when the percentage changed.
    func update(to done: Int) {
        self.done = done
        guard isShown, !finished, percent != shownPercent else { return }
        shownPercent = percent
        output("\r  \(label)  \(percent)%\u{1B}[K")
    }

    /// Clears the line (the final message, if any, is the caller's). Further updates draw nothing.
    func finish() {
        guard !finished else { return }
        finished = true
        if isShown, shownPercent >= 0 { output("\r\u{1B}[K") }
    }
}
