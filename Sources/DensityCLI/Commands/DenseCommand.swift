import ArgumentParser

/// `density dense` (being written).
struct DenseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dense", abstract: "(being written)")
}
