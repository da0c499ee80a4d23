import DensityViews

extension ReportPanels {
    /// Writes one panel as a standalone `.svg` file (for `--svg FILE`) to `target`.
    /// - Throws: ``CLIError`` when the file cannot be written.
    static func write(_ panel: SVG, to target: ExportTarget) throws {
        _ = try target.write { file in try file.append(SVG.standalone(panel)) }
    }
}
