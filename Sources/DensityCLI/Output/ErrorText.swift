import ArgumentParser
import DensityFormats
import DensityStore
import DensityViews

/// The command line's wording of the library's typed errors: the library says what was wrong
/// with which value; this names the flag the value came from and the command that fixes it.
enum ErrorText {
    /// The error to print: a ``CLIError`` naming flags and commands for the library errors whose
    /// fix is one, else `error` itself.
    static func render(_ error: any Error) -> any Error {
        switch error {
        case let SelectionError.noCheckpointYet(run, pending):
            guard let first = pending.first else { return CLIError("run '\(run)' has no checkpoints yet; \(addCheckpoint)") }
            return CLIError("\(error) (`density checkpoint RUN --rank R --world-size \(first.worldSize) FILE`)")
        case QueryError.notEnoughVectors:
            return CLIError("\(error); ask for fewer with --last-vectors, or leave it out for the whole run")
        case let StoreError.settingOutOfRange(setting, value, expected):
            return CLIError("\(flag(setting)) must be \(expected), got \(value)")
        case let error as ComponentError:
            switch error {
            case .noComponents: return CLIError("\(error.problem); leave out --component")
            case let .componentRequired(_, components, _): return CLIError("\(error.problem): pass --component 0 to \(components - 1)")
            }
        case StateFrameError.tooLarge:
            return CLIError("\(error) (the limit is set with --max-frame-bytes, up to \(StateFrameReader.maxFrameBytesLimit))")
        case let error as StoreError:
            return advice(error).map { CLIError("\(error.problem); \($0)") } ?? error
        default:
            return error
        }
    }

    /// Runs one of the library's checks of arguments (``DensityStore/checkRunSettings(name:features:components:fireThreshold:chunkFeatures:keyframeInterval:worldSize:metadata:)``
    /// and its neighbours) in a command's `validate()`: a refusal is a usage error, worded here.
    static func validating(_ check: () throws -> Void) throws {
        do { try check() } catch { throw ValidationError("\(render(error))") }
    }

    /// The commands that add a run's first checkpoint.
    static let addCheckpoint = "add one with `density checkpoint`, `density ingest` or `density record`"

    /// The fix of a ``StoreError`` in the command line's flags and commands, where it names one
    /// (the error's own ``StoreError/remedy`` says it in the library's terms).
    static func advice(_ error: StoreError) -> String? {
        switch error {
        case .notADatabase:
            "pass --db with a store made by `density create`, or a new path"
        case .notAStore:
            "pass --db with another path"
        case .schemaTooNew:
            "upgrade density to read it"
        case .needsMigration:
            "run any writing command (e.g. `density migrate`) once to upgrade it"
        case .networkFileSystem:
            "write the store on a local disk (node-local scratch, /tmp) and combine the nodes' stores with `density merge a.sqlite b.sqlite --into job.sqlite`, or copy the store to a local disk to write it; reading a store on a network file system is fine"
        case let .unknownRun(_, known) where known.isEmpty:
            "create one with `density create`"
        case .duplicateRun:
            "choose another name, or add checkpoints to it with `density ingest`"
        case .notCreatedYet:
            "retry once `density create` has finished"
        case let .stepNotIncreasing(run, _, _):
            "to restart training from an earlier step, use `density resume \(run) --at STEP --discard-later` first"
        case .inconsistentHistory:
            "run `density verify` to list every problem, and query other steps meanwhile"
        case let .conflictingState(run, _, _):
            "to record that step again, rewind first with `density resume \(run) --at STEP --discard-later`"
        case let .rankRequired(_, worldSize):
            "pass --rank R --world-size \(worldSize) with each rank's own state"
        case let .worldSizeMismatch(_, _, given):
            "every rank of a run must pass the same --world-size, not --world-size \(given) (a run's world size is set by its first write)"
        case let .mergeConflict(run, step, _):
            "compare them (e.g. `density diff \(run) --from start --to \(step) --db STORE` on each), then merge without the store whose state is wrong"
        default:
            nil
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
        case .threshold: "--threshold"
        case .windowVectors: "--last-vectors"
        }
    }
}
