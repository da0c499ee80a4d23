/// The benchmark's command line, parsed by hand (the benchmark has no dependencies).
struct BenchOptions {
    /// Tiny sizes and few repeats: finishes in seconds, even in a debug build (for CI).
    var smoke = false
    /// Where to keep the stores; a history fixture already there is reused.
    var workDirectory: String?
    /// Run only the section with this name.
    var only: String?
    /// Timed repeats per measurement (after one warm-up); `nil` means the section's default.
    var repeats: Int?
    /// Shapes `[batch, features]` that replace a section's default sizes.
    var shapes: [[Int]] = []
    /// Widths (features) that replace the record section's own.
    var features: [Int] = []
    /// The `density` binary the record section runs, instead of the one beside the benchmark.
    var density: String?
    /// The folder the mirror section's mirrors go to, instead of one beside its stores.
    var mirrorDirectory: String?
    /// Print the usage and exit.
    var help = false

    /// Timed repeats: the command line's, else `full` (or 3 with `--smoke`).
    func repeats(default full: Int) -> Int { repeats ?? (smoke ? 3 : full) }

    /// An error in the command line, printed with the usage.
    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses the arguments after the program name.
    /// - Parameter arguments: `CommandLine.arguments.dropFirst()`.
    /// - Throws: ``UsageError`` for an unknown flag or a missing or bad value.
    init(parsing arguments: ArraySlice<String>) throws {
        var rest = arguments
        func value(of flag: String) throws -> String {
            guard let next = rest.popFirst(), !next.hasPrefix("--") else {
                throw UsageError(description: "\(flag) needs a value")
            }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--smoke": smoke = true
            case "--work-dir": workDirectory = try value(of: argument)
            case "--help", "-h": help = true
            case "--only": only = try value(of: argument)
            case "--density": density = try value(of: argument)
            case "--mirror-dir": mirrorDirectory = try value(of: argument)
            case "--features":
                let text = try value(of: argument)
                guard let n = Int(text), n > 0 else {
                    throw UsageError(description: "--features needs a positive integer, got '\(text)'")
                }
                features.append(n)
            case "--repeats":
                let text = try value(of: argument)
                guard let n = Int(text), n > 0 else {
                    throw UsageError(description: "--repeats needs a positive integer, got '\(text)'")
                }
                repeats = n
            case "--shape":
                let text = try value(of: argument)
                let dims = text.split(separator: "x").map { Int($0) }
                guard dims.count == 2, let batch = dims[0], let features = dims[1], batch > 0, features > 0 else {
                    throw UsageError(description: "--shape needs BATCHxFEATURES, e.g. 1024x4096, got '\(text)'")
                }
                shapes.append([batch, features])
            default:
                throw UsageError(description: "unknown argument '\(argument)'")
            }
        }
    }
}
