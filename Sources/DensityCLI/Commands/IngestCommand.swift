import ArgumentParser
import DensityFormats
import DensityMetric
import DensityStore
import Foundation

/// `density ingest`: update a run from `.npy` activations and checkpoint it.
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Update a run's metric with .npy activations and write one checkpoint at a step.",
        discussion: """
            Continues from the run's latest checkpoint, adds every file (float16, float32 or float64; \
            shape [batch, features], or [batch, components, features] for runs with components; C or \
            Fortran order; either byte order), then writes one checkpoint at --step, atomically: if \
            any file is bad, nothing is written. An empty batch ([0, ...]) adds nothing and is left \
            out with a warning; files that are all empty write no checkpoint.
              python -c "import numpy as np; np.save('acts.npy', acts.astype(np.float32))"
              density ingest demo --step 10250 acts.npy
              density ingest l1-1e-3 --step 500 batch-0.npy batch-1.npy
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: "The training step of the checkpoint; after the run's latest checkpoint.")
    var step: Int64

    @Argument(help: ArgumentHelp("Activation files (.npy).", valueName: "file.npy"))
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one .npy file of activations") }
        try ErrorText.validating { try DensityStore.checkStep(step) }
    }

    func run() throws {
        let store = try store.openForWriting()
        let run = try store.lockRunForWriting(runName)  // before reading the state the checkpoint builds on
        let latest = try store.read { snapshot -> (checkpoint: Checkpoint, state: DensityState)? in
            do { return try snapshot.state(run: runName) } catch SelectionError.noCheckpointYet { return nil }
        }
        if let latest, step <= latest.checkpoint.step {
            throw StoreError.stepNotIncreasing(run: runName, step: step, latest: latest.checkpoint.step)
        }
        var metric = try FeatureDensityMetric(
            state: latest?.state ?? DensityState(features: run.features, components: run.components),
            fireThreshold: run.fireThreshold)
        // Every header and shape is checked before any data is read. An empty batch (0 vectors of
        // the right width) adds nothing: it is checked like the others, then left out.
        var empty: [String] = []
        let opened = try files.compactMap { path -> NpyFile? in
            let file = try NpyFile(path: path)
            let isEmpty = file.shape.first == 0
            var shape = file.shape
            if isEmpty { shape[0] = 1 }
            do {
                _ = try metric.batchSize(ofShape: shape, valueCount: shape.reduce(1, *))
            } catch let error as DensityError {
                if isEmpty {
                    throw CLIError("\(path): an empty batch of shape \(file.shape), which does not fit run '\(runName)' (\(run.describeShape))")
                }
                throw CLIError("\(path): \(error) (run '\(runName)')")
            }
            if isEmpty { empty.append(path) }
            return isEmpty ? nil : file
        }
        guard !opened.isEmpty else {
            throw CLIError("\(empty.joined(separator: ", ")): no activation vectors (every file is an empty batch, shape [0, ...]); nothing was stored")
        }
        for path in empty { Console.message("warning: '\(path)' holds 0 vectors (an empty batch); it adds nothing") }
        let before = metric.state
        for (index, file) in opened.enumerated() {
            if Console.stderrIsTerminal {
                FileHandle.standardError.write(Data("\r  reading \(index + 1)/\(opened.count): \(file.path)\u{1B}[K".utf8))
            }
            try metric.update(contentsOf: file)
        }
        if Console.stderrIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let checkpoint = try store.appendCheckpoint(run: runName, step: step, state: metric.state)
        var message = "run '\(runName)': checkpoint at step \(checkpoint.step), +\(metric.state.vectors - before.vectors) vectors from \(opened.count) file(s), \(checkpoint.vectors) in all"
        if !empty.isEmpty { message += "; \(empty.count) empty file(s) left out" }
        let nonFinite = metric.state.nonFinite - before.nonFinite
        if nonFinite > 0 { message += "; warning: \(nonFinite) NaN/inf activations (they never fire except +inf)" }
        Console.message(message)
    }
}
