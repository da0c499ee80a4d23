import ArgumentParser
import DensityViews

/// `--svg FILE [--force]`: also draw a command's numbers as a standalone SVG panel.
struct SVGOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also draw the result as a standalone SVG file.", valueName: "file.svg"))
    var svg: String?

    @Flag(help: "Replace the --svg file if it exists.")
    var force = false

    func validate() throws {
        do {
            _ = try target()
        } catch let error as CLIError {
            throw ValidationError(error.description)
        }
    }

    /// Where the drawing goes, checked by the rules every output file follows; nil without --svg.
    /// - Throws: ``CLIError`` for `-` (stdout holds the command's own output) or a path that
    ///   cannot be written.
    func target() throws -> ExportTarget? {
        guard let svg else { return nil }
        if svg == "-" { throw CLIError("--svg - would mix the drawing with the command's output on stdout; give a file name") }
        return try ExportTarget(path: svg, force: force, option: "--svg")
    }
}
