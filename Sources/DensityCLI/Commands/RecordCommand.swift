import ArgumentParser
import CMalloc
import DensityFormats
import DensityMetric
import DensityStore
import DensityViews
import Foundation
import Synchronization

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
            Each frame is reported once it is stored \
            durably (its transaction committed and synced), without waiting for the next; when the \
            next one has already arrived, it is read, checked and encoded while the previous commits. A frame that is refused (wrong shape, counts that decrease, …) is \
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

    @Flag(help: ArgumentHelp(
        "Write a JSON line to stdout for each frame as soon as its fate is known, for the program feeding the stream: {\"frame\":N,\"step\":S,\"outcome\":\"stored\"} (or \"already_stored\"; or \"refused\" with \"message\", step null when unread), with \"warnings\" when the frame had some."))
    var acks = false

    @OptionGroup var mirrorOptions: MirrorOptions

    func validate() throws {
        guard (1...StateFrameReader.maxFrameBytesLimit).contains(maxFrameBytes) else {
            throw ValidationError("--max-frame-bytes must be 1 to \(StateFrameReader.maxFrameBytesLimit), got \(maxFrameBytes)")
        }
    }

    /// The widest states whose freed blocks the recorder keeps for the next frame: 32 MiB (4M
    /// int64 counts), glibc's largest heap allocation. Wider ones are mapped and unmapped as before.
    static let reusedBlockBytes: Int32 = 32 << 20

    func run() throws {
        // Each frame allocates a state and frees the one two frames back, of the same width.
        _ = cmalloc_keep_freed_blocks(Self.reusedBlockBytes)
        // A trainer that dies (an out-of-memory kill) takes the read ends of stdout and stderr with
        // it: every whole frame already in the pipe is still stored, and what would have been
        // written about them is dropped (Console), rather than SIGPIPE ending this process.
        signal(SIGPIPE, SIG_IGN)
        let recorder = try StateRecorder(store: store.openForWriting(), runName: runName, rank: ranks.value)
        // Snapshots are taken on a thread of their own; the last one once every frame is stored.
        let mirror = try mirrorOptions.start(storePath: recorder.store.path)
        defer {
            do { try mirror?.close() } catch { Console.message("Error: \(ErrorText.render(error))") }
        }
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
        // The run's latest checkpoint once the frame in flight (if any) is stored: what the next
        // frame is encoded against while that one commits. `nil` when not known (at the start,
        // after a replayed frame, for ranks): the next frame is then recorded the ordinary way.
        var basis: PreparedCheckpoint.Basis?
        var inFlight: (frame: FramePrefetcher.Frame, commit: BackgroundCommit)?
        /// Records a frame the ordinary way (reading back the latest checkpoint) and reports it.
        func recordOrdinarily(_ frame: FramePrefetcher.Frame) {
            let source = "stdin frame \(frame.number)"
            do {
                let (outcome, state) = try recorder.recordState(frame.state.get(), step: nil, source: source)
                report(outcome, frame: frame)
                if !outcome.alreadyStored, let checkpoint = outcome.completed.last {
                    basis = PreparedCheckpoint.Basis(checkpoint: checkpoint, state: state)
                } else if outcome.alreadyStored {
                    basis = nil
                }
            } catch {
                refuse(frame, error)
            }
        }
        func report(_ outcome: RecordOutcome, frame: FramePrefetcher.Frame) {
            if outcome.alreadyStored { skipped += 1 } else { stored += 1; lastStep = outcome.step }
            if verbose { Console.message(StateRecorder.describe(outcome, run: runName, source: "stdin frame \(frame.number)")) }
            acknowledge(frame, step: outcome.step, outcome.alreadyStored ? "already_stored" : "stored")
        }
        func refuse(_ frame: FramePrefetcher.Frame, _ error: any Error) {
            refused += 1
            let message = "\(ErrorText.render(error))"
            Console.message("Error: \(message); the frame was skipped")
            acknowledge(frame, step: (try? frame.state.get())?.step, "refused", message: message)
        }
        /// With `--acks`, the frame's fate as one JSON line on stdout, with the frame's warnings
        /// (also printed on stderr), so the program reading it has them with the verdict.
        func acknowledge(_ frame: FramePrefetcher.Frame, step: Int64?, _ outcome: String, message: String? = nil) {
            guard acks else { return }
            var fields: [(String, JSONValue)] = [("frame", .int(Int64(frame.number))), ("step", step.map(JSONValue.int) ?? .null),
                                                 ("outcome", .string(outcome))]
            if let message { fields.append(("message", .string(message))) }
            if let warnings = (try? frame.state.get())?.warnings, !warnings.isEmpty {
                fields.append(("warnings", .array(warnings.map(JSONValue.string))))
            }
            Console.out(JSONValue.object(fields).text + "\n")
        }
        /// Waits for the frame in flight to be committed and reports it; one whose prepared
        /// checkpoint no longer applies is recorded the ordinary way.
        func settle() {
            guard let (frame, commit) = inFlight else { return }
            inFlight = nil
            defer { frames.finished() }
            do {
                if let outcome = try commit.wait() {
                    if case .success(let torch) = frame.state {
                        for warning in torch.warnings { Console.message("warning: " + warning) }
                    }
                    report(outcome, frame: frame)
                    return
                }
            } catch {
                basis = nil
                refuse(frame, error)
                return
            }
            recordOrdinarily(frame)
        }
        defer { settle() }
        while true {
            // After a wide frame the reader waits for it to be stored before reading on. Else the
            // frame in flight is settled (and reported) as soon as it commits if the next frame
            // has not come by then: a trainer waiting for its states to be stored, as before it
            // saves a model checkpoint, may send nothing more until it hears.
            if let inFlight, !inFlight.frame.readsAhead || !frames.waitUntilReady(orUntil: { inFlight.commit.isDone }) {
                settle()
            }
            let frame: FramePrefetcher.Frame
            do {
                guard let next = try frames.next() else { break }
                frame = next
            } catch let error as StateFrameError {
                throw ErrorText.render(error)
            }
            // Encode this frame against the one in flight while that one commits: each is still
            // acknowledged only once its own transaction is committed and synced.
            var prepared: PreparedCheckpoint?
            if let basis, recorder.rank == nil, case .success(let torch) = frame.state, let step = torch.step,
               step > basis.step,
               let (_, state) = try? recorder.state(of: torch, step: nil, source: "", nonFinite: basis.state.nonFinite) {
                prepared = recorder.store.prepareCheckpoint(run: recorder.run, step: step, state: state, after: basis)
            }
            settle()
            if let prepared {
                inFlight = (frame, BackgroundCommit(prepared, store: recorder.store))
                basis = prepared.asBasis
            } else {
                recordOrdinarily(frame)
                frames.finished()
            }
        }
        settle()
        if let mirror, let origin = try mirror.close() {
            Console.message("mirrored to '\(mirror.mirror.path)' (\(mirror.snapshotsWritten) snapshot\(mirror.snapshotsWritten == 1 ? "" : "s"), the last at \(origin.snapshotAt.formatted(.iso8601)))")
        }
        if refused > 0 { throw ExitCode(1) }
    }
}

/// A prepared checkpoint being committed on a thread of its own, while the next frame is encoded.
private final class BackgroundCommit: Sendable {
    private let result = Mutex<Result<RecordOutcome?, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// Starts committing `prepared` to `store`.
    init(_ prepared: PreparedCheckpoint, store: DensityStore) {
        Thread.detachNewThread { [self] in
            let outcome = Result { try store.commit(prepared) }
            result.withLock { $0 = outcome }
            done.signal()
        }
    }

    /// Whether the commit has ended (``wait()`` returns at once).
    var isDone: Bool { result.withLock { $0 != nil } }

    /// Waits for the commit: its outcome, or `nil` when the prepared checkpoint no longer applied
    /// and nothing was written.
    /// - Throws: The commit's error; nothing was stored then.
    func wait() throws -> RecordOutcome? {
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
