import Foundation
import Testing

/// `density demo`: a synthetic run in an empty folder, its suggestions, and replacing it.
@Suite struct DemoCommandTests {
    /// The command lines under "Try next:", without `density` and comments.
    static func suggestions(in stdout: String) -> [[String]] {
        guard let range = stdout.range(of: "Try next:") else { return [] }
        return stdout[range.upperBound...].split(separator: "\n").compactMap { line in
            let command = line.split(separator: "#", maxSplits: 1).first.map(String.init) ?? ""
            let words = command.split(separator: " ").map(String.init)
            return words.first == "density" ? Array(words.dropFirst()) : nil
        }
    }

    @Test func runsInAnEmptyFolderAndIsReplacedByTheNextDemo() throws {
        try Sandbox.with { box in
            #expect(box.listing() == [])
            let result = try box.density(["demo"])
            try #require(result.status == 0, "\(result)")
            #expect(FileManager.default.fileExists(atPath: box.path("density.sqlite")), "files: \(box.listing())")
            for command in ["density runs", "density show demo", "density diff demo", "density trend demo", "density resume demo"] {
                #expect(result.stdout.contains(command), "stdout should suggest `\(command)`:\n\(result.stdout)")
            }
            #expect((result.stdout + result.stderr).contains("identical to an uninterrupted run: yes"), "\(result)")

            // The defaults: 40 checkpoints of 1024 vectors, every 250 steps, 4096 features.
            let demo = RunRow(name: "demo", features: 4096, components: nil, checkpoints: 40, latest_step: 40 * 250, vectors: 40 * 1024)
            let rows = try decode([RunRow].self, try box.density(["runs", "--format", "json"]), keys: RunRow.keys)
            #expect(rows == [demo])

            // Every suggested command works as printed.
            let suggestions = Self.suggestions(in: result.stdout)
            #expect(suggestions.count >= 5, "\(result.stdout)")
            for arguments in suggestions {
                let run = try box.density(arguments)
                #expect(run.status == 0 && !run.stdout.isEmpty, "suggested command failed: \(run)")
            }

            // A second demo replaces the first and leaves other runs alone.
            let other = try box.density(["create", "mine", "--features", "4"])
            try #require(other.status == 0, "\(other)")
            let again = try box.density(["demo"])
            try #require(again.status == 0, "\(again)")
            let after = try decode([RunRow].self, try box.density(["runs", "--format", "json"]), keys: RunRow.keys)
            #expect(Set(after) == [demo, RunRow(name: "mine", features: 4, components: nil, checkpoints: 0, latest_step: nil, vectors: 0)])
        }
    }

    @Test func refusesToReplaceARunItDidNotCreate() throws {
        try Sandbox.with { box in
            try box.recordRun("demo", features: 8, steps: [1, 2])
            let before = try box.snapshot(["demo"])
            // The message must name the option that picks another name: `--run`.
            let refused = try box.fails(["demo"], mentioning: ["'demo'", "--run"])
            #expect(!refused.stderr.contains("--runName"), "there is no --runName option: \(refused.stderr)")
            #expect(try box.snapshot(["demo"]) == before)

            // The way out it suggests works, and leaves the user's run alone.
            let small = try box.db(["demo", "--run", "demo2", "--features", "64", "--batch", "32", "--checkpoints", "4", "--every", "10"])
            try #require(small.status == 0, "\(small)")
            let runs = try box.runs()
            #expect(runs["demo2"] == RunRow(name: "demo2", features: 64, components: nil, checkpoints: 4, latest_step: 40, vectors: 128))
            #expect(runs["demo"] == RunRow(name: "demo", features: 8, components: nil, checkpoints: 2, latest_step: 2, vectors: 5 + 12))
            #expect(try box.snapshot(["demo"]).dropFirst() == before.dropFirst(), "show demo changed")
        }
    }

    @Test func suggestionsCarryTheDBPath() throws {
        try Sandbox.with { box in
            let result = try box.db(["demo", "--features", "300", "--batch", "50", "--checkpoints", "8", "--every", "5"])
            try #require(result.status == 0, "\(result)")
            #expect(!FileManager.default.fileExists(atPath: box.path("density.sqlite")))
            let suggestions = Self.suggestions(in: result.stdout)
            #expect(suggestions.count >= 5 && suggestions.allSatisfy { $0.contains(box.db) }, "\(result.stdout)")
            for arguments in suggestions {
                let run = try box.density(arguments, cwd: box.root)
                #expect(run.status == 0 && !run.stdout.isEmpty, "suggested command failed: \(run)")
            }
            let shown = try decode(ShowOutput.self, try box.db(["show", "demo", "--format", "json"]), keys: ShowOutput.keys)
            #expect(shown.step == 40 && shown.vectors == 400 && shown.features == 300 && shown.non_finite == 0)
        }
    }

    @Test func invalidSettingsAreRefused() throws {
        try Sandbox.with { box in
            try box.fails(["demo", "--checkpoints", "3"], mentioning: ["--checkpoints"])
            try box.fails(["demo", "--features", "0"], mentioning: ["--features"])
            #expect(box.listing() == [])
        }
    }
}
