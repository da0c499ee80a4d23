import DensityMetric
import DensityStore
import DensityWorkload
import Foundation
import Testing

/// Random (seeded) sequences of valid and invalid states through every write path: `checkpoint`,
/// `import`, `record`, `ingest`, rank writes and their sums, and `merge`. A model of the store's
/// invariants predicts which writes are accepted; afterwards the store holds exactly the accepted
/// states, `verify` passes, and every query answers with densities in [0, 1]. Then a checkpoint is
/// rewritten through the schema, as another program would, with a random state: `verify` fails
/// exactly when the model says the history broke, and every query still answers or refuses
/// cleanly (each is a subprocess, so a crash would show as one).
@Suite struct InvariantPropertyTests {
    static let features = 3
    /// Rounds of the default run; `DENSITY_LONG_TESTS=1` runs more.
    static var rounds: Int { TrustSettings.long ? 40 : 2 }

    /// A cumulative state of the run.
    struct State: Equatable {
        var counts: [Int64]
        var vectors: Int64
    }

    /// Whether `next` may follow `previous` (nil: the start of the run): the store's invariants.
    static func follows(_ next: State, _ previous: State?) -> Bool {
        let previous = previous ?? State(counts: [Int64](repeating: 0, count: features), vectors: 0)
        guard (0...InvariantTests.maxCount).contains(next.vectors), next.vectors >= previous.vectors else { return false }
        let added = next.vectors - previous.vectors
        return zip(next.counts, previous.counts).allSatisfy { count, before in
            count >= 0 && count <= next.vectors && count >= before && count - before <= added
        }
    }

    /// Whether a list of (step, state), in step order, is a valid history.
    static func isValid(_ history: [(step: Int64, state: State)]) -> Bool {
        zip(history, [nil] + history.map(\.state)).allSatisfy { follows($0.state, $1) }
    }

    /// A random next state: valid, or broken in one of the ways a writer must refuse.
    static func candidate(after previous: State?, using rng: inout SplitMix64) -> State {
        let previous = previous ?? State(counts: [Int64](repeating: 0, count: features), vectors: 0)
        let added = Int64.random(in: 0...6, using: &rng)
        var next = State(counts: previous.counts.map { $0 + Int64.random(in: 0...added, using: &rng) },
                         vectors: previous.vectors + added)
        let i = Int.random(in: 0..<features, using: &rng)
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: next.counts[i] = previous.counts[i] + added + 1                      // grew past the vectors
        case 1: next.counts[i] = previous.counts[i] - 1                              // decreased (or negative)
        case 2: next.counts[i] = next.vectors + 1                                    // above the vectors
        case 3: next.vectors = InvariantTests.maxCount + Int64.random(in: 1...(1 << 40), using: &rng)  // beyond 2^62
        case 4: next.vectors = previous.vectors - 1                                  // vectors decreased
        default: break                                                               // valid
        }
        return next
    }

    /// One file to write with numpy.
    struct FileSpec: Encodable {
        var path: String
        var kind: String  // "safetensors", "stream" or "npy"
        var counts: [Int64]
        var vectors: Int64
        var step: Int64
        var mask: [Bool] = []
    }

    /// Writes every file in one python3 run.
    static func write(_ files: [FileSpec], in sandbox: Sandbox) throws {
        guard !files.isEmpty else { return }
        let script = """
            import json, sys, numpy as np
            from feature_density_recorder import safetensors_bytes, encode_state, frame
            for f in json.load(open(sys.argv[1])):
                if f["kind"] == "safetensors":
                    data = safetensors_bytes({"neuron_fired_count": np.array(f["counts"], dtype=np.int64),
                                              "num_activation_vectors": np.array(f["vectors"], dtype=np.int64)})
                    open(f["path"], "wb").write(data)
                elif f["kind"] == "stream":
                    open(f["path"], "wb").write(frame(encode_state(f["step"], np.array(f["counts"], dtype=np.int64), f["vectors"])))
                else:
                    row = np.where(np.array(f["mask"]), 1.0, -1.0).astype(np.float32)
                    np.save(f["path"], np.tile(row, (f["vectors"], 1)))
            """
        let list = sandbox.root.appendingPathComponent("files-\(UUID().uuidString).json")
        try JSONEncoder().encode(files).write(to: list)
        _ = try Numpy.run(script, [list.path], in: sandbox)
    }

    /// Runs `density record RUN` with `stream` on stdin.
    static func record(_ sandbox: Sandbox, _ run: String, _ stream: String) throws -> CommandResult {
        try Subprocess.run(executable: URL(fileURLWithPath: "/bin/sh"),
                           arguments: ["-c", "exec \"$0\" record \"$1\" --db \"$2\" < \"$3\"", try DensityBinary.url().path,
                                       run, sandbox.db, stream],
                           cwd: sandbox.work, environment: [:], io: sandbox.root.appendingPathComponent("io"))
    }

    /// The stored history of `run` in `db`: every checkpoint's step and state, read with the store's library.
    static func history(_ sandbox: Sandbox, _ run: String, db: String) throws -> [(step: Int64, state: State)] {
        try DensityStore(path: db, readOnly: true).read { snapshot in
            try snapshot.checkpoints(run: run).map { checkpoint in
                let state = try snapshot.state(run: run, at: .exact(checkpoint.step)).state
                return (checkpoint.step, State(counts: state.counts, vectors: state.vectors))
            }
        }
    }

    @Test(arguments: 0..<rounds)
    func everyWriterKeepsTheInvariantsAndEveryQueryAnswersOrRefuses(round: Int) throws {
        try Sandbox.with { sandbox in
            var rng = SplitMix64(seed: 0xD15E_A5E + UInt64(round))
            try sandbox.ok(["create", "w", "--features", String(Self.features)])
            try sandbox.ok(["create", "d", "--features", String(Self.features)])
            var accepted: [(step: Int64, state: State)] = []
            var writes: [String: Int] = [:]

            // Whole states through checkpoint, import, record and ingest.
            var step: Int64 = 0
            for index in 0..<8 {
                step += Int64.random(in: 1...3, using: &rng)
                let path = ["checkpoint", "import", "record", "ingest"].randomElement(using: &rng)!
                var state = Self.candidate(after: accepted.last?.state, using: &rng)
                var arguments: [String]
                var file = FileSpec(path: "", kind: "safetensors", counts: state.counts, vectors: state.vectors, step: step)
                var result: CommandResult
                switch path {
                case "ingest":  // activations can only give a valid state: some features fire on every vector
                    let batch = Int64.random(in: 1...4, using: &rng)
                    let mask = (0..<Self.features).map { _ in Bool.random(using: &rng) }
                    let before = accepted.last?.state ?? State(counts: [0, 0, 0], vectors: 0)
                    state = State(counts: zip(before.counts, mask).map { $0 + ($1 ? batch : 0) }, vectors: before.vectors + batch)
                    file = FileSpec(path: sandbox.path("acts-\(index).npy"), kind: "npy", counts: [], vectors: batch, step: step, mask: mask)
                    try Self.write([file], in: sandbox)
                    arguments = ["ingest", "w", "--step", String(step), file.path]
                    result = try sandbox.db(arguments)
                case "import":
                    let folder = sandbox.path("import-\(index)")
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                    file.path = folder + "/state-\(step).safetensors"
                    try Self.write([file], in: sandbox)
                    result = try sandbox.db(["import", "w", folder])
                case "record":
                    file.path = sandbox.path("stream-\(index).bin")
                    file.kind = "stream"
                    try Self.write([file], in: sandbox)
                    result = try Self.record(sandbox, "w", file.path)
                default:
                    file.path = sandbox.path("state-\(index).safetensors")
                    try Self.write([file], in: sandbox)
                    result = try sandbox.db(["checkpoint", "w", "--step", String(step), file.path])
                }
                let expected = Self.follows(state, accepted.last?.state)
                #expect((result.status == 0) == expected, "\(path) of \(state) after \(String(describing: accepted.last)): \(result)")
                #expect(result.status < 2, "not a clean exit: \(result)")
                if result.status == 0 { accepted.append((step, state)) }
                writes["\(path) \(expected ? "accepted" : "refused")", default: 0] += 1
            }

            // Ranks: two ranks' states, each valid on its own; their sum may break the invariant.
            var ranks: [State] = [State(counts: [0, 0, 0], vectors: 0), State(counts: [0, 0, 0], vectors: 0)]
            var sums: [State] = []
            var rankStep: Int64 = 0
            for index in 0..<3 {
                rankStep += 1
                var next = ranks.map { rank -> State in
                    let added = Int64.random(in: 0...4, using: &rng)
                    return State(counts: rank.counts.map { $0 + Int64.random(in: 0...added, using: &rng) }, vectors: rank.vectors + added)
                }
                if index > 0, Bool.random(using: &rng) {  // rank 1 moves its firings to a feature rank 0 filled
                    let i = Int.random(in: 0..<Self.features, using: &rng)
                    next[0].counts[i] = ranks[0].counts[i] + (next[0].vectors - ranks[0].vectors)
                    next[1].counts[i] = min(next[1].vectors, ranks[1].counts[i] + (next[1].vectors - ranks[1].vectors) + 1)
                }
                let files = next.enumerated().map { rank, state in
                    FileSpec(path: sandbox.path("rank\(rank)-\(index).safetensors"), kind: "safetensors",
                             counts: state.counts, vectors: state.vectors, step: rankStep)
                }
                try Self.write(files, in: sandbox)
                let first = try sandbox.db(["checkpoint", "d", "--step", String(rankStep), files[0].path, "--rank", "0", "--world-size", "2"])
                #expect(first.status == 0, "\(first)")
                let sum = State(counts: zip(next[0].counts, next[1].counts).map { $0 + $1 }, vectors: next[0].vectors + next[1].vectors)
                let expected = Self.follows(sum, sums.last)
                let second = try sandbox.db(["checkpoint", "d", "--step", String(rankStep), files[1].path, "--rank", "1", "--world-size", "2"])
                #expect((second.status == 0) == expected, "rank sum \(sum) after \(String(describing: sums.last)): \(second)")
                writes["rank sum \(expected ? "accepted" : "refused")", default: 0] += 1
                if second.status == 0 {
                    ranks = next
                    sums.append(sum)
                } else if let latest = sums.indices.last {  // drop rank 0's pending state
                    try sandbox.ok(["resume", "d", "--at", String(latest + 1), "--discard-later"])
                    rankStep = Int64(latest + 1)
                }
            }

            // Merge: another store holds some of the same states and one more, valid or not.
            let other = sandbox.path("other.sqlite")
            try #require(try sandbox.density(["create", "w", "--features", String(Self.features), "--db", other]).status == 0)
            var otherHistory = accepted.filter { _ in Bool.random(using: &rng) }
            let extraStep = Int64.random(in: 1...(step + 2), using: &rng)
            let neighbour = (accepted.last { $0.step < extraStep } ?? otherHistory.last)?.state
            var extra = (step: extraStep, state: Self.candidate(after: neighbour, using: &rng))
            if let same = accepted.first(where: { $0.step == extraStep }), Bool.random(using: &rng) { extra.state = same.state }
            otherHistory.removeAll { $0.step == extraStep }
            var otherStored: [(step: Int64, state: State)] = []
            for entry in (otherHistory + [extra]).sorted(by: { $0.step < $1.step }) {
                let file = FileSpec(path: sandbox.path("other-\(entry.step).safetensors"), kind: "safetensors",
                                    counts: entry.state.counts, vectors: entry.state.vectors, step: entry.step)
                try Self.write([file], in: sandbox)
                let result = try sandbox.density(["checkpoint", "w", "--step", String(entry.step), file.path, "--db", other])
                #expect((result.status == 0) == Self.follows(entry.state, otherStored.last?.state), "\(result)")
                if result.status == 0 { otherStored.append(entry) }
            }
            var union: [Int64: State] = [:]
            var conflict = false
            for entry in accepted + otherStored {
                if let present = union[entry.step], present != entry.state { conflict = true }
                union[entry.step] = entry.state
            }
            let merged = union.sorted { $0.key < $1.key }.map { (step: $0.key, state: $0.value) }
            let mergeable = !conflict && Self.isValid(merged)
            let before = try Self.history(sandbox, "w", db: sandbox.db)
            let one = sandbox.path("one.sqlite"), two = sandbox.path("two.sqlite")
            let results = [try sandbox.density(["merge", sandbox.db, other, "--into", one]),
                           try sandbox.density(["merge", other, sandbox.db, "--into", two]),
                           try sandbox.density(["merge", other, "--into", sandbox.db])]
            for result in results {
                #expect((result.status == 0) == mergeable, "merge (conflict: \(conflict), valid: \(Self.isValid(merged))): \(result)")
                #expect(!result.stderr.contains("discard-later"), "\(result)")
            }
            writes["merge \(mergeable ? "accepted" : "refused")", default: 0] += 1
            let after = try Self.history(sandbox, "w", db: sandbox.db)
            if mergeable {
                accepted = merged
                #expect(try Self.history(sandbox, "w", db: one).map(\.step) == merged.map(\.step))
                #expect(try Self.history(sandbox, "w", db: two).map(\.step) == merged.map(\.step))
                #expect(try Self.history(sandbox, "w", db: one).map(\.state) == Self.history(sandbox, "w", db: two).map(\.state))
            } else {
                #expect(after.map(\.step) == before.map(\.step) && after.map(\.state) == before.map(\.state), "a refused merge changed the store")
                #expect(!FileManager.default.fileExists(atPath: one) && !FileManager.default.fileExists(atPath: two))
            }

            // The store holds exactly what the writers accepted, and verify agrees.
            #expect(after.map(\.step) == accepted.map(\.step))
            #expect(after.map(\.state) == accepted.map(\.state))
            #expect(try Self.history(sandbox, "d", db: sandbox.db).map(\.state) == sums)
            let verify = try sandbox.db(["verify"])
            #expect(verify.status == 0, "\(verify)")
            try Self.queryEverything(sandbox, run: "w", steps: accepted.map(\.step), rng: &rng, mustAnswer: true)

            // Another program rewrites the latest checkpoint through the schema, with a random state.
            if let target = accepted.indices.last {
                let state = Self.candidate(after: target > 0 ? accepted[target - 1].state : nil, using: &rng)
                try InvariantTests.rewriteThroughTheSchema(sandbox, run: "w", step: accepted[target].step, counts: state.counts,
                                                           vectors: state.vectors)
                var tampered = accepted
                tampered[target].state = state
                let valid = Self.isValid(tampered)
                let verify = try sandbox.db(["verify"])
                #expect((verify.status == 0) == valid, "tampered \(tampered): \(verify)")
                writes["tampered \(valid ? "valid" : "invalid")", default: 0] += 1
                try Self.queryEverything(sandbox, run: "w", steps: accepted.map(\.step), rng: &rng, mustAnswer: valid)
            }
            print("invariant property round \(round): \(writes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        }
    }

    /// Runs every query on `run` over random steps and windows: each answers with densities in
    /// [0, 1], or (unless `mustAnswer`) refuses cleanly.
    static func queryEverything(_ sandbox: Sandbox, run: String, steps: [Int64], rng: inout SplitMix64, mustAnswer: Bool) throws {
        guard let last = steps.last else { return }
        let a = steps.randomElement(using: &rng)!, b = steps.randomElement(using: &rng)!
        let (from, to) = a < b ? (String(a), String(b)) : ("start", String(max(a, b)))
        let window = from == "start" ? "\(steps.first!):\(to)" : "\(from):\(to)"
        let queries: [[String]] = [
            ["show", run, "--format", "json"], ["show", run, "--step", to, "--format", "json"],
            ["compare", run, run, "--format", "json"], ["runs", "--format", "json"],
            ["diff", run, "--from", from, "--to", to], ["diff", run, "--from", from, "--to", to, "--format", "json"],
            ["histogram", run, "--from", from, "--to", to, "--bins", String(Int.random(in: 1...60, using: &rng)), "--format", "json"],
            ["histogram", run, "--step", String(last), "--bins", String([1, 2, 5, 10, 25, 50].randomElement(using: &rng)!)],
            ["histogram", run, "--over-training", "--format", "json"],
            ["trend", run, "--feature", String(Int.random(in: 0..<features, using: &rng)), "--format", "json"],
            ["dead", run, "--format", "json"], ["dense", run, "--format", "json"],
            ["export", run, "--from", from, "--to", to, "--format", "json", "--out", "window.json", "--force"],
            ["report", run, "--out", "report.html", "--force"],
        ] + (steps.count > 1 && from != "start" ? [["dead", run, "--window", window, "--format", "json"],
                                                   ["dense", run, "--window", window, "--format", "json"]] : [])
        for query in queries {
            let answered = try InvariantTests.answersOrRefuses(sandbox, query)
            if mustAnswer, !answered {
                // A valid store may still hold an empty window (no vectors added), which is refused as such.
                let result = try sandbox.db(query)
                #expect(result.stderr.contains("no activation vectors"),
                        "a valid store refused \(query): \(result)")
            }
        }
    }
}
