/// Why a step, a window or a feature a user asked for names nothing in a run: the message says
/// what was wrong and how to fix it. The CLI prints it as is; the web UI answers it with 400.
package struct SelectionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message, one line.
    package let description: String

    /// An error with this message.
    package init(_ description: String) { self.description = description }
}
