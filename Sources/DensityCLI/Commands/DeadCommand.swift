import ArgumentParser

/// `density dead` (being written).
struct DeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dead", abstract: "(being written)")
}
