import ArgumentParser

/// `density compare` (being written).
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "(being written)")
}
