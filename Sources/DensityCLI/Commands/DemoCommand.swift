import ArgumentParser
import DensityMetric
import DensityStore
import DensityWorkload
import DensityViews
import Foundation

/// `density demo`: a synthetic SAE run, recorded, crashed, resumed and read back.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Record a synthetic SAE run with a simulated crash, then show what its history tells.",
        discussion: """
            Features fire with log10 density ~ Normal(-3, 1), 5% are dead from the start and 3% die \
            during training. The run is checkpointed every --every steps through the same engine and \
            store as real runs; halfway, the process "crashes", losing its in-memory metric, and \
            resumes from the store. Works in an empty folder:
              density demo
              density demo --features 16384 --batch 4096
            A previous demo run of the same name is replaced; other runs are never touched.
            """
    )

    @OptionGroup var store: StoreOptions

    @Option(name: .customLong("run"), help: "The run's name.")
    var runName = "demo"

    @Option(help: "Learned features.")
    var features = 4096

    @Option(help: "Activation vectors per checkpoint.")
    var batch = 1024

    @Option(help: "Checkpoints to record.")
    var checkpoints = 40

    @Option(help: "Training steps between checkpoints.")
    var every: Int64 = 250

    @Option(help: "Random seed.")
    var seed: UInt64 = 7

    static let marker = "density demo"

    func validate() throws {
        guard features > 0, batch > 0, checkpoints >= 4, every > 0 else {
            throw ValidationError("--features, --batch and --every must be positive, --checkpoints at least 4")
        }
        // The library's check of the run's name and width, before the store is opened.
        try ErrorText.validating { try DensityStore.checkRunSettings(name: runName, features: features) }
    }

    func run() throws {
        let store = try store.openForWriting()
        if let existing = try? store.read({ try $0.run(named: runName) }) {
            guard existing.metadata?.contains(Self.marker) == true else {
                throw CLIError("a run named '\(runName)' exists and was not made by the demo; pass --run with another name")
            }
            try store.deleteRun(named: runName)
        }
        let lastStep = every * Int64(checkpoints)
        let workload = SyntheticSAE(features: features, seed: seed, dyingBetween: (lastStep / 5)...(lastStep * 7 / 10))
        let meta = #"{"source": "\#(Self.marker)", "seed": \#(seed), "batch": \#(batch), "log10_density_mean": -3}"#
        try store.createRun(name: runName, features: features, metadata: meta)
        Console.message("""
            FeatureDensity demo: run '\(runName)' in \(store.path)
              \(features) features, \(batch) activation vectors per checkpoint, a checkpoint every \(every) steps to step \(lastStep)
            """)

        var buffer = [Float](repeating: 0, count: batch * features)
        var metric = try FeatureDensityMetric(numLearnedFeatures: features)
        var uninterrupted = metric  // the same run with no crash, to check the resume against
        let crashAfter = checkpoints * 3 / 5
        var crashed = false
        var index = 1
        while index <= checkpoints {
            let step = every * Int64(index)
            try buffer.withUnsafeMutableBufferPointer { values in
                workload.fill(values, batch: batch, step: step)
                try metric.update(UnsafeBufferPointer(values), shape: [batch, features])
            }
            if index == crashAfter + 1 && !crashed {
                // The process dies after updating the metric for this step, before checkpointing it.
                crashed = true
                let lost = metric.state.vectors
                let resumed = try store.resume(run: runName)
                metric = try FeatureDensityMetric(state: resumed.state, fireThreshold: 0)
                Console.message("""
                  crash at step \(step): the in-memory metric (\(lost) vectors) is gone
                  resume: `density resume \(runName)` -> step \(resumed.checkpoint.step), \(resumed.state.vectors) vectors, exact counts restored
                """)
                continue  // a restarted training loop redoes this step's batch
            }
            try uninterrupted.update(buffer, shape: [batch, features])
            try store.appendCheckpoint(run: runName, step: step, state: metric.state)
            if Console.stderrIsTerminal { FileHandle.standardError.write(Data("\r  recorded step \(step)".utf8)) }
            index += 1
        }
        if Console.stderrIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let identical = metric.state == uninterrupted.state
        Console.message("  recorded \(checkpoints) checkpoints; final state identical to an uninterrupted run: \(identical ? "yes" : "NO")")
        guard identical else { throw CLIError("the resumed run differs from the uninterrupted one; this is a bug") }
        try report(store: store, lastStep: lastStep)
    }

    /// What the history shows, and what to try next.
    func report(store: DensityStore, lastStep: Int64) throws {
        // The last quarter of training, against the first half: a feature that fired with density
        // >= 1e-3 early (dozens of firings) and never late has died, not just been unlucky.
        let recentStart = lastStep - Int64(checkpoints / 4) * every
        let (first, final, recent, firstHalf) = try store.read { snapshot in
            (try snapshot.state(run: runName, at: .first), try snapshot.state(run: runName).state,
             try snapshot.window(run: runName, WindowSpec(from: .exact(recentStart), to: .exact(lastStep))).state,
             try snapshot.window(run: runName, WindowSpec(from: .start, to: .exact(lastStep / 2))).state)
        }
        let late = DensitySummary(final)
        let early = firstHalf.densities()
        let died = (0..<features).filter { early[$0] >= 1e-3 && recent.counts[$0] == 0 }
        let recentSummary = DensitySummary(recent)
        var text = """

            What the history shows:
              vectors seen             \(final.vectors)
              mean density             \(Console.format(late.meanDensity))
              dense (>= 1e-2)          \(late.dense) features
              never fired              \(DensitySummary(first.state).dead) at step \(first.checkpoint.step) -> \(late.dead) at step \(lastStep)
              silent in (\(recentStart), \(lastStep)]  \(recentSummary.dead) features
              died during training     \(died.count) features: density >= 1e-3 up to step \(lastStep / 2), silent after step \(recentStart)

              log10(density + 1e-10) at step \(lastStep):

            """
        // Every bin, empty ones too, as `density histogram --bins 10` prints them.
        text += TextHistogram.lines(DensitySummary(final, bins: 10).histogram, style: .table).map { "  \($0)\n" }.joined()
        let db = self.store.db.map { " --db \($0)" } ?? ""
        let example = died.first ?? 0
        text += """

            Try next:
              density\(db) runs
              density\(db) show \(runName)
              density\(db) diff \(runName) --from \(recentStart) --to latest
              density\(db) trend \(runName) --feature \(example)      # a feature that died
              density\(db) resume \(runName) --at \(lastStep / 2)

            """
        Console.out(text)
    }
}
