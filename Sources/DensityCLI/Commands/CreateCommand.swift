import ArgumentParser
import DensityStore
import Foundation

/// `density create`: a new run.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a run: its name, width and settings.",
        discussion: """
            Example (a 16k-feature SAE on one layer; fired means activation > 0):
              density create l1-1e-3 --features 16384 --meta '{"l1": 0.001, "lr": 3e-4}'

            With components (activations [batch, components, features]):
              density create multi --features 4096 --components 2
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's unique name.", valueName: "run"))
    var runName: String

    @Option(parsing: .unconditional, help: "The number of learned features (the last axis of the activations).")
    var features: Int

    @Option(parsing: .unconditional, help: "The number of components, when activations are [batch, components, features].")
    var components: Int?

    @Option(parsing: .unconditional, help: "An activation fires when it is strictly greater than this (torch.gt).")
    var fireThreshold: Double = 0

    @Option(help: "Features per stored chunk: a trend query reads one chunk per checkpoint. 8192 packs SQLite pages well.")
    var chunkFeatures: Int = 8192

    @Option(help: "A keyframe every this many checkpoints; the others store only what changed. Reading any checkpoint decodes at most this many.")
    var keyframeInterval: Int = 32

    @Option(help: ArgumentHelp("JSON metadata kept with the run, e.g. the hyperparameters.", valueName: "json"))
    var meta: String?

    /// The library's check of the settings, before the store is opened: nothing is created for a
    /// refused run.
    func validate() throws {
        try ErrorText.validating {
            try DensityStore.checkRunSettings(name: runName, features: features, components: components,
                                              fireThreshold: fireThreshold, chunkFeatures: chunkFeatures,
                                              keyframeInterval: keyframeInterval, metadata: meta)
        }
    }

    func run() throws {
        let store = try store.openForWriting()
        let created = try store.createRun(
            name: runName, features: features, components: components, fireThreshold: fireThreshold,
            chunkFeatures: chunkFeatures, keyframeInterval: keyframeInterval, metadata: meta)
        Console.message("created run '\(created.name)' (\(created.describeShape), fire threshold \(created.fireThreshold)) in \(store.path)")
    }
}
