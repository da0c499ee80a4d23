import ArgumentParser
import DensityStore

/// `--window A:B` (or `--from A --to B`) or `--last-vectors N`: the window (A, B] of a run's
/// checkpoints a query looks at; the whole run, (start, latest], by default.
struct WindowOptions: ParsableArguments {
    @OptionGroup var spelling: WindowOption

    /// The window as written, in either spelling.
    var window: WindowSpec? { spelling.spec }

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Instead of --window: the shortest window ending at the latest checkpoint that holds at least N activation vectors.",
            valueName: "N"))
    var lastVectors: Int64?

    func validate() throws {
        if window != nil, lastVectors != nil {
            throw ValidationError("give --window (or --from/--to) or --last-vectors, not both")
        }
    }

    /// Runs a library query over the window as written, or over the shortest window holding
    /// `--last-vectors N`; either way the library resolves the window in the transaction that reads it.
    func reading<T>(_ query: (WindowSelection) throws -> T) throws -> T {
        guard let lastVectors else { return try spelling.reading { try query(.steps($0)) } }
        return try query(.lastVectors(lastVectors))
    }

    /// A table's first line: the run, the window's steps and how they were chosen.
    func heading(run: String, _ window: WindowBounds) -> String {
        "run '\(run)', window \(Self.describe(window)) (\(how(window)))\n"
    }

    /// How the window was chosen, for the table's heading.
    func how(_ window: WindowBounds) -> String {
        if let lastVectors { return "the shortest window ending at the latest checkpoint with >= \(lastVectors) vectors" }
        guard let spec = self.window else { return "the whole run" }
        let notes = [(spec.from, window.from), (spec.to, window.to)].compactMap { spec, step in
            step.flatMap { step in spec == .exact(step) ? nil : "\(spec) -> step \(step)" }
        }
        return "--window \(spec)" + (notes.isEmpty ? "" : ": " + notes.joined(separator: ", "))
    }

    /// `(from, to]`, with `start` for the start of the run.
    static func describe(_ window: WindowBounds) -> String {
        "(\(window.from.map(String.init) ?? "start"), \(window.to)]"
    }
}
