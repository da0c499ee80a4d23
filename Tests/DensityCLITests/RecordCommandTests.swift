import Foundation
import Testing

/// `density record`: a training loop's stream of states, stored frame by frame; a broken stream
/// loses only its last frame, and a killed loop resumes to the counts of an uninterrupted one.
@Suite struct RecordCommandTests {
    /// Writes a stream of frames with the repository's Python helper: a cumulative state of
    /// `features` counts per step, each step's batch drawn by numpy. Prints the final counts.
    static let streamWriter = #"""
import json, sys, numpy as np
from feature_density_recorder import encode_state, frame
path, features, steps, tail = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
counts, vectors, out = np.zeros(features, dtype=np.int64), 0, b""
states = {}
for step in steps:
    batch = np.random.default_rng(step).standard_normal((32, features)) - 0.5
    counts += (batch > 0).sum(axis=0)
    vectors += len(batch)
    out += frame(encode_state(step, counts, vectors))
    states[step] = [counts.tolist(), vectors]
if tail == "truncated":
    extra = frame(encode_state(steps[-1] + 1, counts + 1, vectors + 32))
    out += extra[: len(extra) // 2]
elif tail == "wrong-shape":
    out += frame(encode_state(steps[-1] + 1, np.zeros(features + 1, dtype=np.int64), vectors + 1))
    out += frame(encode_state(steps[-1] + 2, counts, vectors + 64))
    states[steps[-1] + 2] = [counts.tolist(), vectors + 64]
open(path, "wb").write(out)
print(json.dumps(states))
"""#

    /// Runs `density record` with `stream` on stdin.
    static func record(_ box: Sandbox, _ stream: String, _ arguments: [String] = []) throws -> CommandResult {
        try Subprocess.run(executable: URL(fileURLWithPath: "/bin/sh"),
                           arguments: ["-c", "db=\"$1\" input=\"$2\"; shift 2; exec \"$0\" record r --db \"$db\" \"$@\" < \"$input\"",
                                       try DensityBinary.url().path,
                                       box.db, stream] + arguments,
                           cwd: box.work, environment: [:], io: box.root.appendingPathComponent("io"))
    }

    /// The stored state at a step, as counts and vectors.
    static func stored(_ box: Sandbox, at step: Int64, resolvesTo used: Int64? = nil) throws -> (counts: [Int64], vectors: Int64) {
        let json = try box.ok(["diff", "r", "--from", "start", "--to", String(step), "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((object["to"] as? NSNumber)?.int64Value == used ?? step)
        let vectors = try #require((object["vectors"] as? NSNumber)?.int64Value)
        let density = try #require(object["density"] as? [Double])
        return (density.map { Int64(($0 * Double(vectors)).rounded()) }, vectors)
    }

    static func states(_ data: Data) throws -> [Int64: (counts: [Int64], vectors: Int64)] {
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [Any]])
        var result: [Int64: (counts: [Int64], vectors: Int64)] = [:]
        for (step, pair) in object {
            result[Int64(step)!] = ((pair[0] as! [NSNumber]).map(\.int64Value), (pair[1] as! NSNumber).int64Value)
        }
        return result
    }

    @Test func everyFrameIsStoredAndAReplayChangesNothing() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "40"])
            let stream = box.path("s.bin")
            let expected = try Self.states(Numpy.run(Self.streamWriter, [stream, "40", "[1, 2, 5, 9, 10]", "none"], in: box))
            let result = try Self.record(box, stream, ["--verbose"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stderr.contains("recorded 5 frames (last step 10)"), "\(result)")
            #expect(result.stderr.components(separatedBy: "stored from stdin frame").count == 6, "\(result)")
            for (step, state) in expected {
                let stored = try Self.stored(box, at: step)
                #expect(stored.counts == state.counts && stored.vectors == state.vectors, "step \(step)")
            }
            // The same stream again (a loop restarted from an older checkpoint re-sends steps): skipped.
            let before = try box.ok(["show", "r", "--format", "json"])
            let replay = try Self.record(box, stream)
            #expect(replay.status == 0 && replay.stderr.contains("5 already stored"), "\(replay)")
            #expect(try box.ok(["show", "r", "--format", "json"]) == before)
        }
    }

    @Test func aTruncatedLastFrameLosesOnlyThatFrame() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "16"])
            let stream = box.path("s.bin")
            let expected = try Self.states(Numpy.run(Self.streamWriter, [stream, "16", "[1, 2, 3]", "truncated"], in: box))
            let result = try Self.record(box, stream)
            expectFailure(result, mentioning: ["frame 4", "truncated", "not stored"])
            #expect(result.stderr.contains("recorded 3 frames (last step 3)"), "\(result)")
            let latest = try Self.stored(box, at: 3)
            #expect(latest.counts == expected[3]!.counts && latest.vectors == expected[3]!.vectors)
            let show = try box.ok(["show", "r", "--format", "json"])
            #expect(show.contains("\"step\" : 3") || show.contains("\"step\":3"), "\(show)")
        }
    }

    @Test func aRefusedFrameIsSkippedAndTheStreamGoesOn() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "8"])
            let stream = box.path("s.bin")
            let expected = try Self.states(Numpy.run(Self.streamWriter, [stream, "8", "[1, 2]", "wrong-shape"], in: box))
            let result = try Self.record(box, stream)
            expectFailure(result, mentioning: ["stdin frame 3", "[9]", "features=8", "skipped"])
            #expect(result.stderr.contains("recorded 3 frames (last step 4), 1 refused"), "\(result)")
            let last = try Self.stored(box, at: 4)
            #expect(last.counts == expected[4]!.counts && last.vectors == expected[4]!.vectors)
        }
    }

    /// One line of `density record --acks`.
    struct Ack: Decodable, Equatable {
        var frame: Int
        var step: Int64?
        var outcome: String
        var message: String?
    }

    /// The acks on `stdout`, each line decoded.
    static func acks(_ stdout: String) throws -> [Ack] {
        try stdout.split(separator: "\n").map { try JSONDecoder().decode(Ack.self, from: Data($0.utf8)) }
    }

    @Test func acksGiveEachFramesFateAsAJSONLine() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "8"])
            let stream = box.path("s.bin")
            _ = try Numpy.run(Self.streamWriter, [stream, "8", "[1, 2]", "wrong-shape"], in: box)
            let first = try Self.record(box, stream, ["--acks"])
            #expect(first.status == 1, "\(first)")
            let acks = try Self.acks(first.stdout)
            #expect(acks.map(\.frame) == [1, 2, 3, 4])
            #expect(acks.map(\.step) == [1, 2, 3, 4])
            #expect(acks.map(\.outcome) == ["stored", "stored", "refused", "stored"])
            #expect(acks[2].message?.contains("features=8") == true && acks[0].message == nil, "\(acks)")
            // a replay: each frame already stored, the wrong one refused again
            let replay = try Self.record(box, stream, ["--acks"])
            #expect(try Self.acks(replay.stdout).map(\.outcome) == ["already_stored", "already_stored", "refused", "already_stored"])
            // without --acks stdout stays empty
            let plain = try Self.record(box, stream)
            #expect(plain.stdout.isEmpty && plain.status == 1, "\(plain)")
        }
    }

    @Test func aFrameAboveTheLimitStopsTheStreamAndKeepsWhatCameBefore() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "4"])
            let stream = box.path("s.bin")
            _ = try Numpy.run(Self.streamWriter, [stream, "4", "[1]", "none"], in: box)
            // A second frame whose length prefix claims 2^40 bytes, followed by a few bytes.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: stream))
            bytes.append(contentsOf: [0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3])
            try bytes.write(to: URL(fileURLWithPath: stream))
            let result = try Self.record(box, stream, ["--max-frame-bytes", "4096"])
            expectFailure(result, mentioning: ["frame 2", "1099511627776", "4096", "--max-frame-bytes"])
            #expect(try Self.stored(box, at: 1).vectors == 32)
        }
    }

    /// A numpy training loop streams its state every step into `density record`; it dies in the
    /// middle of writing a frame (SIGKILL), restarts from `density state`, and trains to the end.
    static let trainingLoop = #"""
import json, os, signal, subprocess, sys, time
import numpy as np
from feature_density_recorder import DensityRecorder, NoCheckpointError, encode_state, frame, load_state
db, mode, features, steps, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
density = os.environ["DENSITY"]

def activations(step):  # the SAE's activations at a step: [batch, features], some features never fire
    rng = np.random.default_rng(1000 + step)
    return rng.standard_normal((64, features)).astype(np.float32) - np.linspace(0, 4, features, dtype=np.float32)

if mode == "reference":
    counts = sum((activations(s) > 0).sum(axis=0) for s in range(1, steps + 1))
    print(json.dumps({"counts": counts.tolist(), "vectors": 64 * steps}))
    sys.exit(0)

try:
    state = load_state("r", db=db, density=density)
    counts, vectors, start = state["neuron_fired_count"].astype(np.int64), state["num_activation_vectors"], state["step"] + 1
except NoCheckpointError:  # only "no checkpoint yet" starts from scratch
    counts, vectors, start = np.zeros(features, dtype=np.int64), 0, 1
recorder = DensityRecorder("r", db=db, density=density)
open(os.path.join(os.path.dirname(db), "recorder.pid"), "w").write(str(recorder.process.pid))
print(json.dumps({"start": start}), flush=True)
for step in range(start, steps + 1):
    batch = activations(step)
    counts += (batch > 0).sum(axis=0)
    vectors += len(batch)
    if step == kill_at:
        recorder.flush()  # every earlier state stored, the sender idle: the pipe is this loop's alone
        whole = frame(encode_state(step, counts, vectors))
        recorder.process.stdin.write(whole[: len(whole) // 2])
        recorder.process.stdin.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    recorder.record(step, counts, vectors)
sys.exit(recorder.close())
"""#

    @Test func aKilledTrainingLoopResumesToTheUninterruptedCounts() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "24"])
            let (steps, killAt) = (30, 17)
            let arguments = { (mode: String) in [box.db, mode, "24", String(steps), String(killAt)] }
            let reference = try #require(try JSONSerialization.jsonObject(
                with: Numpy.run(Self.trainingLoop, arguments("reference"), in: box)) as? [String: Any])
            // First life: killed while writing step 17's frame.
            let script = box.path("train.py")
            try Self.trainingLoop.write(toFile: script, atomically: true, encoding: .utf8)
            let env = ["PYTHONPATH": Numpy.helperFolder, "DENSITY": try DensityBinary.url().path]
            let first = try Subprocess.run(executable: URL(fileURLWithPath: "/usr/bin/env"),
                                           arguments: ["python3", script] + arguments("train"), cwd: box.work,
                                           environment: env, io: box.root.appendingPathComponent("io"))
            #expect(first.status != 0, "the first life must die by SIGKILL: \(first)")
            // Its orphaned `density record` sees the stream end mid-frame and exits; wait for it.
            let pid = try #require(Int32(String(contentsOfFile: box.path("recorder.pid"), encoding: .utf8)))
            let deadline = Date().addingTimeInterval(30)
            while kill(pid, 0) == 0, Date() < deadline { usleep(20_000) }
            #expect(kill(pid, 0) != 0, "density record did not exit after its writer died")
            let afterKill = try Self.stored(box, at: Int64(killAt), resolvesTo: Int64(killAt - 1))
            #expect(afterKill.vectors == Int64(64 * (killAt - 1)), "the truncated frame of step \(killAt) is lost, step \(killAt - 1) is whole")
            // Second life: resumes from the store's latest state and trains to the end.
            let second = try Subprocess.run(executable: URL(fileURLWithPath: "/usr/bin/env"),
                                            arguments: ["python3", script] + arguments("train").dropLast() + ["0"],
                                            cwd: box.work, environment: env, io: box.root.appendingPathComponent("io"))
            #expect(second.status == 0, "\(second)")
            #expect(second.stdout.contains("{\"start\": \(killAt)}"), "\(second)")
            let final = try Self.stored(box, at: Int64(steps))
            #expect(final.counts == (reference["counts"] as? [NSNumber])?.map(\.int64Value))
            #expect(final.vectors == (reference["vectors"] as? NSNumber)?.int64Value)
        }
    }
}
