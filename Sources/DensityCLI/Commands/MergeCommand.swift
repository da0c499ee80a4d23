import ArgumentParser
import DensityStore
import Foundation

/// `density merge`: combine stores written on different machines.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine stores written on different machines into one.",
        discussion: """
            Every run of each source is copied into the destination (created when missing): \
            checkpoints in step order, and the partial states of ranks, which complete the steps \
            that all ranks have now written (their states are summed). The result is what \
            writing everything into one store would have given, whatever the order of the \
            sources. A run in several stores must have the same width, components, fire \
            threshold and world size; a checkpoint several have must be identical. The merge is \
            one transaction: a refused or interrupted merge leaves the destination as it was, \
            and merging the same sources again changes nothing. Example, a 2-node job whose \
            nodes wrote ranks 0-3 and 4-7:
              density merge node0.sqlite node1.sqlite --into job.sqlite
            A folder stands for every store mirror in it (`record --mirror`), e.g. once a sweep \
            is over: density merge mirrors/ --into sweep.sqlite
            """
    )

    @Argument(help: ArgumentHelp("The stores to copy from (read, never changed); a folder: every mirror in it.", valueName: "source.sqlite"))
    var sources: [String]

    @Option(help: ArgumentHelp("The store to copy into; created when missing.", valueName: "destination.sqlite"))
    var into: String

    func validate() throws {
        if sources.isEmpty { throw ValidationError("pass at least one source store, e.g. density merge a.sqlite b.sqlite --into all.sqlite") }
    }

    func run() throws {
        // A source that is the destination's own file is refused by the merge itself
        // (StoreError.mergeIntoItself), which knows the file by its identity, links included.
        let sources = try Self.expandingFolders(self.sources)
        var seen = Set<String>()
        for source in sources {
            let path = URL(fileURLWithPath: source).standardizedFileURL.resolvingSymlinksInPath().path
            guard seen.insert(path).inserted else { throw CLIError("'\(source)' is given twice") }
        }
        let sourceStores = try sources.map { try StoreOptions.openForReading(at: $0) }
        let existed = FileManager.default.fileExists(atPath: into)
        let destination = try DensityStore(path: into)
        do {
            let report = try destination.merge(from: sourceStores)
            let names = sources.map { "'\($0)'" }.joined(separator: ", ")
            var text = "merged \(names): \(report.checkpointsCopied) checkpoint\(report.checkpointsCopied == 1 ? "" : "s") copied"
            if report.checkpointsAlreadyThere > 0 { text += ", \(report.checkpointsAlreadyThere) already there" }
            if report.rankStatesCopied > 0 { text += ", \(report.rankStatesCopied) partial rank states copied" }
            if report.stepsCompleted > 0 { text += ", \(report.stepsCompleted) steps completed" }
            if report.runsCreated > 0 { text += ", \(report.runsCreated) new run\(report.runsCreated == 1 ? "" : "s")" }
            Console.message(text)
        } catch {
            // A destination this merge created is removed again: all or nothing.
            if !existed {
                for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: into + suffix) }
            }
            throw error
        }
    }

    /// The sources with each folder replaced by the store mirrors in it, by name.
    /// - Throws: ``CLIError`` for a folder that holds no mirror.
    static func expandingFolders(_ sources: [String]) throws -> [String] {
        try sources.flatMap { source -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue else { return [source] }
            let names = try FileManager.default.contentsOfDirectory(atPath: source).filter { !$0.hasPrefix(".") }.sorted()
            let mirrors = names.map { URL(fileURLWithPath: source).appendingPathComponent($0).path }.filter(StoreMirror.isMirror)
            if mirrors.isEmpty {
                throw CLIError("the folder '\(source)' holds no store mirror (`density record --mirror \(source)` writes them); pass store files instead")
            }
            return mirrors
        }
    }
}
