import ArgumentParser
import DensityFormats
import DensityStore
import Foundation

/// `density record`: checkpoint a stream of states from a training loop's pipe.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Checkpoint each state a training loop writes to stdin, as it arrives.",
        discussion: """
            Start it once and write frames to its stdin. A frame is an 8-byte little-endian length \
            N, then N bytes of .safetensors holding neuron_fired_count, num_activation_vectors and \
            an int64 'step' (the state as `density checkpoint` takes it):
              rec = subprocess.Popen(["density", "record", "l1-1e-3"], stdin=subprocess.PIPE)
              payload = safetensors.numpy.save({"neuron_fired_count": counts,
                  "num_activation_vectors": np.array(n), "step": np.array(step)})
              rec.stdin.write(struct.pack("<Q", len(payload)) + payload); rec.stdin.flush()
            (python/feature_density_recorder.py does this.) A saved stream can be replayed:
              density record l1-1e-3 < states.bin
            Each frame is stored durably before \
            the next is taken (the next one is read and checked meanwhile). A frame that is refused (wrong shape, counts that decrease, …) is \
            reported and skipped, and the stream goes on; the exit status is then 1. A stream \
            that ends inside a frame loses only that frame. A frame re-sent after a restart with \
            the same step and state is skipped.
            """
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @OptionGroup var ranks: RankOptions

    @Option(help: ArgumentHelp("The largest frame accepted, in bytes (default 1 GiB).", valueName: "bytes"))
    var maxFrameBytes: Int = StateFrameReader.defaultMaxFrameBytes

    @Flag(name: .shortAndLong, help: "Print a line for every frame stored, not only a summary at the end.")
    var verbose = false

    func validate() throws {
        guard (1...StateFrameReader.maxFrameBytesLimit).contains(maxFrameBytes) else {
            throw ValidationError("--max-frame-bytes must be 1 to \(StateFrameReader.maxFrameBytesLimit), got \(maxFrameBytes)")
        }
    }

    func run() throws {
        let recorder = try StateRecorder(store: store.openForWriting(), runName: runName, rank: ranks.value)
        let frames = FramePrefetcher(descriptor: STDIN_FILENO, source: "stdin", maxFrameBytes: maxFrameBytes)
        var stored = 0, skipped = 0, refused = 0
        var lastStep: Int64?
        defer {
            var text = "run '\(runName)': recorded \(stored) frame\(stored == 1 ? "" : "s")"
            if let lastStep { text += " (last step \(lastStep))" }
            if skipped > 0 { text += ", \(skipped) already stored" }
            if refused > 0 { text += ", \(refused) refused" }
            Console.message(text)
        }
        while true {
            let frame: FramePrefetcher.Frame
            do {
                guard let next = try frames.next() else { break }
                frame = next
            } catch let error as StateFrameError {
                throw CLIError("\(error)")
            }
            defer { frames.finished() }
            let source = "stdin frame \(frame.number)"
            do {
                let outcome = try recorder.record(frame.state.get(), step: nil, source: source)
                if outcome.alreadyStored { skipped += 1 } else { stored += 1; lastStep = outcome.step }
                if verbose { Console.message(StateRecorder.describe(outcome, run: runName, source: source)) }
            } catch {
                refused += 1
                Console.message("Error: \(error); the frame was skipped")
            }
        }
        if refused > 0 { throw ExitCode(1) }
    }
}
