import DensityStore

/// The command line's wording of the library's typed errors: the library says what was wrong
/// with which value; this names the flag the value came from and the command that fixes it.
enum ErrorText {
    /// The error to print: a ``CLIError`` naming flags for the library errors that carry a
    /// flag's value, else `error` itself.
    static func render(_ error: any Error) -> any Error {
        switch error {
        case let SelectionError.noCheckpointYet(_, pending):
            guard let first = pending.first else { return CLIError("\(error)") }
            return CLIError("\(error) (`density checkpoint RUN --rank R --world-size \(first.worldSize) FILE`)")
        case let QueryError.thresholdOutOfRange(value):
            return CLIError("--threshold must be a density in (0, 1], got \(value)")
        case let QueryError.nonPositiveVectors(value):
            return CLIError("--last-vectors must be a positive number of vectors, got \(value)")
        case QueryError.notEnoughVectors:
            return CLIError("\(error); ask for fewer with --last-vectors, or leave it out for the whole run")
        case let StoreError.settingOutOfRange(setting, value, expected):
            return CLIError("\(flag(setting)) must be \(expected), got \(value)")
        default:
            return error
        }
    }

    /// The flag a setting is given with.
    static func flag(_ setting: StoreSetting) -> String {
        switch setting {
        case .features: "--features"
        case .components: "--components"
        case .fireThreshold: "--fire-threshold"
        case .chunkFeatures: "--chunk-features"
        case .keyframeInterval: "--keyframe-interval"
        case .worldSize: "--world-size"
        case .rank: "--rank"
        case .metadata: "--meta"
        case .step: "--step"
        case .keepEvery: "--keep-every"
        case .keepLast: "--keep-last"
        }
    }
}
