import ArgumentParser
import DensityFormats
import DensityStore

/// `density import`: store a folder of state files, in step order.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store many torchmetrics state files (a folder or glob) as checkpoints, in step order.",
        discussion: """
            Each file is a .safetensors state as `density checkpoint` takes it. Its step is its \
            'step' tensor, else the last number in its name (state-000500.safetensors is step 500); \
            files are stored in step order. Files already stored (same step, same state) are \
            skipped, so importing a folder again after training wrote more files stores only the \
            new ones. The import stops at the first bad file with its error; everything before it \
            stays stored. Examples:
              density import l1-1e-3 checkpoints/density/
              density import l1-1e-3 'checkpoints/density/state-*.safetensors'
              density import l1-1e-3 --rank 3 --world-size 8 rank3/
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Argument(help: ArgumentHelp("Folders, glob patterns or files.", valueName: "dir-or-glob"))
    var sources: [String]

    @OptionGroup var ranks: RankOptions

    func validate() throws {
        if sources.isEmpty { throw ValidationError("pass a folder, a glob or files to import") }
    }

    func run() throws {
        let files = try StateFile.expand(sources)
        let recorder = try StateRecorder(store: store.openForWriting(), runName: runName, rank: ranks.value)
        // Order by the step in the name; a file without one is read for its 'step' tensor.
        var ordered: [(step: Int64, file: StateFile)] = []
        for file in files {
            if let step = file.stepInName {
                ordered.append((step, file))
            } else if let step = try file.read().step {
                ordered.append((step, file))
            } else {
                throw CLIError("'\(file.path)' has no 'step' tensor and no number in its name; name it like state-500.safetensors or save the step in it. Nothing was imported")
            }
        }
        ordered.sort { ($0.step, $0.file.path) < ($1.step, $1.file.path) }
        let progress = Progress("importing \(ordered.count) files", total: ordered.count)
        var stored: [Int64] = [], skipped = 0, completed = 0
        for (index, entry) in ordered.enumerated() {
            do {
                let torch = try entry.file.read()
                if let inFile = torch.step, inFile != entry.step {
                    throw CLIError("'\(entry.file.path)': its name says step \(entry.step) but its 'step' tensor says \(inFile); rename it")
                }
                let outcome = try recorder.record(torch, step: entry.step, source: entry.file.path)
                if outcome.alreadyStored { skipped += 1 } else { stored.append(entry.step) }
                completed += outcome.completed.count
            } catch {
                progress.finish()
                Console.message(Self.summary(stored: stored, skipped: skipped, completed: completed, rank: recorder.rank != nil))
                throw CLIError("stopped at '\(entry.file.path)' (file \(index + 1) of \(ordered.count)): \(ErrorText.render(error))\nFix or remove it and run the same command again: files already stored are skipped")
            }
            progress.update(to: index + 1)
        }
        progress.finish()
        Console.message(Self.summary(stored: stored, skipped: skipped, completed: completed, rank: recorder.rank != nil))
    }

    private static func summary(stored: [Int64], skipped: Int, completed: Int, rank: Bool) -> String {
        var text = "imported \(stored.count) file\(stored.count == 1 ? "" : "s")"
        if let first = stored.first, let last = stored.last { text += " (steps \(first) to \(last))" }
        if skipped > 0 { text += "; skipped \(skipped) already stored" }
        if rank { text += "; \(completed) step\(completed == 1 ? "" : "s") completed by all ranks" }
        return text
    }
}
