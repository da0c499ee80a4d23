import ArgumentParser

/// `density histogram` (being written).
struct HistogramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "histogram", abstract: "(being written)")
}
