import Foundation
import Testing
import ArgumentParser
@testable import DensityCLI

/// `--help` of the tool and of every subcommand: exit 0, on stdout, with an example command line.
@Suite struct HelpTests {
    static let subcommands = ["demo", "create", "runs", "ingest", "show", "diff", "trend", "dead", "dense", "histogram",
                              "export", "compare", "report", "resume", "checkpoint", "import", "record", "merge", "state", "compact", "migrate",
                              "verify", "watch", "serve", "history", "summaries"]

    /// Every subcommand the root command lists is covered above.
    @Test func everySubcommandIsCovered() {
        let listed = DensityCommand.configuration.subcommands.map { $0.configuration.commandName ?? "" }
        #expect(Set(listed) == Set(Self.subcommands))
    }

    @Test(arguments: [""] + subcommands)
    func helpShowsAnExample(_ subcommand: String) throws {
        try Sandbox.with { box in
            let arguments = subcommand.isEmpty ? ["--help"] : [subcommand, "--help"]
            let result = try box.density(arguments)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("USAGE: density"), "\(result)")
            // An example: the word, or an indented command line that runs this subcommand.
            let lines = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let example = subcommand.isEmpty
                ? result.stdout.contains("`density ")   // the overview points at `density demo`
                : lines.contains { $0.hasPrefix("density ") && $0.split(separator: " ").contains(Substring(subcommand)) }
            #expect(result.stdout.contains("Example") || example, "no example in the help of `\(subcommand)`:\n\(result.stdout)")
            #expect(box.listing() == [], "--help must not create a store")
        }
    }

    @Test(arguments: subcommands)
    func helpSubcommandMatchesDashDashHelp(_ subcommand: String) throws {
        try Sandbox.with { box in
            let viaFlag = try box.density([subcommand, "--help"])
            let viaHelp = try box.density(["help", subcommand])
            #expect(viaHelp.status == 0 && viaHelp.stdout == viaFlag.stdout, "\(viaHelp)")
        }
    }

    @Test func versionIsPrinted() throws {
        try Sandbox.with { box in
            let result = try box.density(["--version"])
            #expect(result.status == 0 && result.stdout.split(separator: ".").count == 3, "\(result)")
        }
    }
}
