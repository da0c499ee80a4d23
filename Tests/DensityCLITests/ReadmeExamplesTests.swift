import Foundation
import Testing

/// Every `density` command the README shows runs as written after `density demo`: each line of a
/// ```sh block that starts with `density`, and each `$ density` line of an output block, in the
/// README's order, in one folder, through `sh` (so pipes and comments work as for a reader), with
/// the built `density` first on the PATH. Each must exit 0, and the output the README shows under
/// a `$` line must be what the command prints. The few that cannot run here are listed in
/// ``skipped`` with the reason; every entry there must still match an example.
@Suite struct ReadmeExamplesTests {
    /// A command found in README.md.
    struct Example: CustomStringConvertible {
        /// The 1-based line of README.md.
        var line: Int
        /// The command as written (without the `$ ` prompt).
        var command: String
        /// The output shown under it, for a `$` line.
        var shown: [String]?

        var description: String { "README.md:\(line): \(command)" }

        /// The command without a trailing shell comment.
        var bare: String {
            guard let hash = command.range(of: " #") else { return command }
            return Self.trimmed(String(command[..<hash.lowerBound]))
        }

        /// Whether `listed` names this example: as written, or without its comment.
        func isNamed(_ listed: String) -> Bool { command == listed || bare == listed }

        private static func trimmed(_ text: String) -> String { text.trimmingCharacters(in: .whitespaces) }
    }

    /// How an example's output is checked against what the README shows under it.
    enum OutputCheck {
        /// Line for line.
        case exact
        /// Every shown line is printed (others may be too), with the reason.
        case shownLinesPrinted(String)
        /// Only the exit status, with the reason.
        case statusOnly(String)
    }

    /// Examples that are not run, each with the reason (matched on the command as written, or
    /// without its comment).
    static let skipped: [(command: String, reason: String)] = [
        ("density demo", "the test runs it first, as the set-up does"),
        ("density checkpoint l1-1e-3 --step 500 state.safetensors",
         "the reader's own saved state file; CheckpointCommandTests covers the format"),
        ("density checkpoint l1-1e-3 --step 500 state.npz",
         "the reader's own saved state file; CheckpointCommandTests covers the format"),
        ("density checkpoint l1-1e-3 --step 500 neuron_fired_count.npy num_activation_vectors.npy",
         "the reader's own saved state files; CheckpointCommandTests covers the format"),
        ("density import l1-1e-3 checkpoints/density/",
         "the reader's folder of saved states; ImportCommandTests covers it"),
        ("density checkpoint l1-1e-3 --step 20000 --saelens-vectors 4096000 sparsity.safetensors",
         "a file SAELens wrote for the reader's run; SAELensSparsityTests and the Python SAELens test cover it"),
        ("density watch l1-1e-3 --db /scratch/runs.sqlite",
         "the reader's store on a cluster, in a full-screen view that runs until quit; WatchCommandTests drives it under tmux"),
        ("density verify     # after a byte of one chunk was flipped",
         "shows a damaged store; CorruptionTests flips bytes and checks this message"),
        ("density record l1-1e-3 --db \"$TMPDIR/l1-1e-3.sqlite\" --mirror ~/sweep/mirrors --mirror-every 60",
         "a cluster task's recorder, fed by its training loop; MirrorCommandTests records with --mirror"),
        ("density runs --db 'mirrors/*.sqlite'",
         "the login node's folder of mirrors; SweepTableTests and test_slurm_example read such folders"),
        ("density runs --db 'mirrors/*.sqlite' --sort -dead --where 'seed=0'",
         "the login node's folder of mirrors; SweepTableTests sorts and filters runs of several stores"),
        ("density compare l1-1e-4 l1-1e-3 l1-1e-2 --db 'mirrors/*.sqlite'",
         "the login node's folder of mirrors; CompareManyTests compares runs across stores"),
        ("density trend l1-1e-3 --feature 42 --db 'mirrors/*.sqlite'",
         "the login node's folder of mirrors; SeveralStoresReadTests runs every read command over several stores"),
        ("density serve --db 'mirrors/*.sqlite'",
         "a server that runs until stopped, over the login node's mirrors; test_serve_sweep drives it in headless Chromium"),
        ("density merge mirrors/ --into sweep.sqlite",
         "the login node's folder of mirrors; MirrorCommandTests merges such a folder"),
    ]

    /// Examples whose shown output is not compared line for line, with the reason.
    static let outputChecks: [String: OutputCheck] = [
        "density runs": .statusOnly("the latest checkpoint's age and the recording rate follow the clock, and the tour's `density create l1-1e-3` adds a row and a column; SweepTableTests checks every field"),
        "density verify": .statusOnly("the tour's compaction ran before it, so its counts differ from the demo's"),
    ]

    /// The README's text and path.
    static func readme() throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The `density` commands of README.md, in order: lines of ```sh blocks that start with
    /// `density `, and `$ density` lines of unlabelled blocks with the output shown under them.
    static func examples(in text: String) -> [Example] {
        var examples: [Example] = []
        var fence: String?  // the open block's info string
        var collecting = false  // the lines are the output of the last example
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") {
                fence = fence == nil ? String(trimmed.dropFirst(3)) : nil
                collecting = false
                continue
            }
            switch fence {
            case "sh", "bash", "shell":
                if trimmed.hasPrefix("density ") { examples.append(Example(line: index + 1, command: trimmed, shown: nil)) }
            case "":
                if trimmed.hasPrefix("$ ") {
                    // A `$` line of another program ends the previous example's output too.
                    collecting = trimmed.hasPrefix("$ density ")
                    if collecting { examples.append(Example(line: index + 1, command: String(trimmed.dropFirst(2)), shown: [])) }
                } else if collecting {
                    examples[examples.count - 1].shown?.append(line)
                }
            default:
                continue
            }
        }
        return examples
    }

    @Test func everyExampleRunsAfterTheDemo() throws {
        let text = try Self.readme()
        let examples = Self.examples(in: text)
        try #require(examples.count >= 25, "README.md should show the CLI tour's commands; found \(examples)")
        for skip in Self.skipped {
            #expect(examples.contains { $0.isNamed(skip.command) },
                    "the skip list names `\(skip.command)`, which the README no longer shows: remove it")
        }
        try Sandbox.with { sandbox in
            let binFolder = try DensityBinary.url().deletingLastPathComponent().path
            let path = binFolder + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            let demo = try sandbox.density(["demo"])
            try #require(demo.status == 0, "\(demo)")
            // The reader's activations for `density ingest l1-1e-3 ... acts-0.npy acts-1.npy`.
            for (index, name) in ["acts-0.npy", "acts-1.npy"].enumerated() {
                try sandbox.npy(name, "np.random.default_rng(\(index)).standard_normal((8, 16384)).astype(np.float32)")
            }
            var ran = 0
            for example in examples {
                if Self.skipped.contains(where: { example.isNamed($0.command) }) { continue }
                let result = try Subprocess.run(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", example.command],
                                                cwd: sandbox.work, environment: ["PATH": path, "COLUMNS": "100"],
                                                io: sandbox.root.appendingPathComponent("io"))
                ran += 1
                #expect(result.status == 0, "\(example) exited \(result.status)\n\(result.stdout)\(result.stderr)")
                guard let shown = example.shown, !shown.isEmpty, result.status == 0 else { continue }
                let printed = Self.lines(result.stdout + result.stderr)
                let wanted = shown.map(Self.trailingTrimmed)
                switch Self.outputChecks[example.bare] ?? .exact {
                case .exact:
                    #expect(printed == wanted, "\(example): the README shows\n\(wanted.joined(separator: "\n"))\nbut it printed\n\(printed.joined(separator: "\n"))")
                case .shownLinesPrinted:
                    for line in wanted { #expect(printed.contains(line), "\(example): \"\(line)\" not printed:\n\(printed.joined(separator: "\n"))") }
                case .statusOnly:
                    break
                }
            }
            #expect(ran == examples.count - Self.skipped.count)
        }
    }

    /// The parser: sh lines and `$` lines are found, with the output under a `$` line up to the
    /// next `$` line or the block's end, and python blocks are left alone.
    @Test func examplesAreFoundWithTheirOutput() {
        let text = """
            ```sh
            density create r --features 4   # a comment
            swift build
            ```
            ```python
            density = 1
            ```
            ```
            $ density runs
            run  features
            $ density show r
            run   r
            ```
            ```
            density watch · not a command
            ```
            """
        let found = Self.examples(in: text)
        #expect(found.map(\.command) == ["density create r --features 4   # a comment", "density runs", "density show r"])
        #expect(found.map(\.line) == [2, 9, 11])
        #expect(found[0].shown == nil)
        #expect(found[1].shown == ["run  features"])
        #expect(found[2].shown == ["run   r"])
    }

    // MARK: - Helpers

    /// Text as lines without trailing spaces, and without the empty line after the last newline.
    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { trailingTrimmed(String($0)) }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// A line without trailing spaces.
    static func trailingTrimmed(_ line: String) -> String {
        String(line.reversed().drop { $0 == " " }.reversed())
    }
}
