import ArgumentParser
import Foundation

/// `--svg FILE [--force]`: also draw a command's numbers as a standalone SVG panel.
struct SVGOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also draw the result as a standalone SVG file.", valueName: "file.svg"))
    var svg: String?

    @Flag(help: "Replace the --svg file if it exists.")
    var force = false

    func validate() throws {
        if let svg, !force, FileManager.default.fileExists(atPath: svg) {
            throw ValidationError("--svg '\(svg)' exists; pass --force to replace it")
        }
    }
}
