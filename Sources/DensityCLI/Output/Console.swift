import DensityViews
import Foundation

/// Where output goes: data to stdout, messages to stderr.
enum Console {
    /// Writes text to stdout as is.
    static func out(_ text: String) {
        write(text, to: STDOUT_FILENO)
    }

    /// Writes a line to stderr.
    static func message(_ text: String) {
        write(text + "\n", to: STDERR_FILENO)
    }

    /// Writes all of `text` to `descriptor`. When it cannot be written (its reader went away:
    /// `EPIPE`, where SIGPIPE is ignored, as `density record` does), the rest is dropped: output
    /// that nobody reads must not stop a command, nor crash it as `FileHandle.write` would.
    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Whether stderr is a terminal (progress is shown only then).
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// A number in a compact, readable form: 6 significant digits.
    static func format(_ value: Double) -> String {
        TextHistogram.number(value)
    }

    /// Aligns rows into columns (right-aligned numbers, left-aligned first column), measuring
    /// cells in terminal columns (``DisplayWidth``), so wide characters such as CJK stay aligned.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { DisplayWidth.of($0[column]) }.max() ?? 0 }
        var text = ""
        for (index, row) in all.enumerated() {
            let cells = row.enumerated().map { column, cell in
                column == 0 ? DisplayWidth.padRight(cell, widths[column]) : DisplayWidth.padLeft(cell, widths[column])
            }
            text += cells.joined(separator: "  ") + "\n"
            if index == 0 {
                text += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
            }
        }
        return text
    }

    /// A CSV field, quoted when it needs to be.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
