import Foundation
import Testing

/// The store's invariants, held at its door and never trusted blindly by a query: between two
/// consecutive checkpoints no count grows by more than the vectors do, no count exceeds the
/// vectors, sums of counts never overflow, and every number stays in the supported range.
@Suite struct InvariantTests {
    /// 2^62, the largest count or vector total a store holds.
    static let maxCount: Int64 = 1 << 62

    /// Writes a state file with numpy and checkpoints it into run `run` at `step`.
    static func checkpoint(_ sandbox: Sandbox, _ run: String, step: Int64, counts: [Int64], vectors: Int64,
                           rank: (Int, Int)? = nil) throws -> CommandResult {
        let name = "\(run)-\(step)-\(rank.map { "r\($0.0)" } ?? "all")-\(UUID().uuidString.prefix(6)).safetensors"
        let file = try Numpy.writeState(name, counts: counts, shape: [counts.count], vectors: vectors, in: sandbox)
        var arguments = ["checkpoint", run, "--step", String(step), file]
        if let rank { arguments += ["--rank", String(rank.0), "--world-size", String(rank.1)] }
        return try sandbox.db(arguments)
    }

    /// Every number under a key naming a density, anywhere in a JSON answer.
    static func densities(in json: Any, key: String? = nil) -> [Double] {
        switch json {
        case let object as [String: Any]:
            return object.flatMap { densities(in: $0.value, key: $0.key) }
        case let array as [Any]:
            return array.flatMap { densities(in: $0, key: key) }
        case let number as NSNumber:
            return key.map { $0.contains("density") && !$0.contains("log10") } == true ? [number.doubleValue] : []
        default:
            return []
        }
    }

    /// A query either answers (every density in [0, 1]) or refuses cleanly, pointing at `density
    /// verify`; it never crashes. Returns whether it answered.
    @discardableResult
    static func answersOrRefuses(_ sandbox: Sandbox, _ arguments: [String],
                                 sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
        let result = try sandbox.db(arguments)
        if result.status == 0 {
            if arguments.contains("json"), let json = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) {
                for density in densities(in: json) {
                    #expect((0...1).contains(density), "density \(density) outside [0, 1]: \(result)",
                            sourceLocation: sourceLocation)
                }
            }
            return true
        }
        #expect(result.status == 1 || result.status == 64, "not a clean exit: \(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains("Error"), "no error message: \(result)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "a refused query printed data: \(result)", sourceLocation: sourceLocation)
        return false
    }

    /// Rewrites the chunk of `run`'s checkpoint at `step` through the documented schema, as another
    /// program would: raw little-endian int64 counts (encoding 1), a keyframe, its CRC-32, and no
    /// summary row (readers then summarize the counts).
    static func rewriteThroughTheSchema(_ sandbox: Sandbox, run: String, step: Int64, counts: [Int64], vectors: Int64) throws {
        let script = """
            import json, sqlite3, struct, sys, zlib
            db = sqlite3.connect(sys.argv[1])
            run, step, counts, vectors = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
            cid, = db.execute("SELECT c.id FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.name = ? AND c.step = ?",
                              (run, step)).fetchone()
            data = struct.pack(f"<{len(counts)}q", *counts)
            db.execute("UPDATE chunks SET encoding = 1, checksum = ?, data = ? WHERE checkpoint_id = ?", (zlib.crc32(data), data, cid))
            db.execute("UPDATE checkpoints SET delta_depth = 0, vectors = ? WHERE id = ?", (vectors, cid))
            db.execute("DELETE FROM checkpoint_summaries WHERE checkpoint_id = ?", (cid,))
            db.commit()
            """
        _ = try Numpy.run(script, [sandbox.db, run, String(step), "\(counts)", String(vectors)], in: sandbox)
    }

    /// `density verify` fails and its report names each of `mentions`.
    static func verifyReports(_ sandbox: Sandbox, _ mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let verify = try sandbox.db(["verify"])
        #expect(verify.status == 1, "\(verify)", sourceLocation: sourceLocation)
        for mention in mentions {
            #expect(verify.stdout.contains(mention), "verify should report \"\(mention)\": \(verify)", sourceLocation: sourceLocation)
        }
    }

    /// Every query of a run with checkpoints at steps 1 and 2, windowed and not, in JSON where it has JSON.
    static let queries: [[String]] = [
        ["show", "r", "--format", "json"], ["show", "r", "--step", "1", "--format", "json"],
        ["compare", "r", "r", "--format", "json"],
        ["diff", "r", "--from", "1", "--to", "2"], ["diff", "r", "--from", "1", "--to", "2", "--format", "json"],
        ["diff", "r", "--from", "start", "--to", "2", "--format", "json"],
        ["histogram", "r", "--from", "1", "--to", "2", "--bins", "10"],
        ["histogram", "r", "--from", "1", "--to", "2", "--bins", "20", "--format", "json"],
        ["histogram", "r", "--bins", "10", "--format", "json"], ["histogram", "r", "--over-training", "--format", "json"],
        ["trend", "r", "--feature", "0", "--format", "json"],
        ["dead", "r", "--window", "1:2", "--format", "json"], ["dense", "r", "--window", "1:2", "--format", "json"],
        ["dead", "r", "--format", "json"], ["dense", "r", "--format", "json"],
        ["export", "r", "--from", "1", "--to", "2", "--format", "json", "--out", "window.json", "--force"],
        ["export", "r", "--format", "json", "--out", "state.json", "--force"],
        ["report", "r", "--out", "report.html", "--force"],
    ]

    // MARK: - 1. Counts grow by at most the vectors

    @Test func aCountThatGrowsMoreThanTheVectorsIsRefusedByEveryWriter() throws {
        try Sandbox.with { sandbox in
            try sandbox.ok(["create", "r", "--features", "2"])
            #expect(try Self.checkpoint(sandbox, "r", step: 1, counts: [5, 0], vectors: 10).status == 0)
            expectFailure(try Self.checkpoint(sandbox, "r", step: 2, counts: [10, 0], vectors: 11),
                          mentioning: ["step 2", "feature 0", "grew by 5", "vectors grew by 1"])
            // import goes through the same door
            let folder = sandbox.work.appendingPathComponent("states")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let file = try Numpy.writeState("state-2.safetensors", counts: [10, 0], shape: [2], vectors: 11, in: sandbox)
            try FileManager.default.moveItem(atPath: file, toPath: folder.appendingPathComponent("state-2.safetensors").path)
            expectFailure(try sandbox.db(["import", "r", folder.path]), mentioning: ["feature 0", "grew by 5"])
            #expect(try sandbox.ok(["resume", "r"]) == "1\n")
            // a valid growth still passes: +1 vector, +1 count
            #expect(try Self.checkpoint(sandbox, "r", step: 2, counts: [6, 1], vectors: 11).status == 0)
            #expect(try sandbox.db(["verify"]).status == 0)

            // ranks: each rank's state is fine, their sum at step 2 is not
            try sandbox.ok(["create", "d", "--features", "2"])
            #expect(try Self.checkpoint(sandbox, "d", step: 1, counts: [5, 0], vectors: 10, rank: (0, 2)).status == 0)
            #expect(try Self.checkpoint(sandbox, "d", step: 1, counts: [0, 0], vectors: 0, rank: (1, 2)).status == 0)
            #expect(try Self.checkpoint(sandbox, "d", step: 2, counts: [10, 0], vectors: 11, rank: (0, 2)).status == 0)
            expectFailure(try Self.checkpoint(sandbox, "d", step: 2, counts: [0, 0], vectors: 0, rank: (1, 2)),
                          mentioning: ["step 2", "feature 0", "grew by 5"])
            #expect(try sandbox.ok(["resume", "d"]) == "1\n")
            // a rank's own pending states: step 3 must follow its step 2, before any sum is taken
            try sandbox.ok(["resume", "d", "--at", "1", "--discard-later"])
            #expect(try Self.checkpoint(sandbox, "d", step: 2, counts: [6, 0], vectors: 11, rank: (0, 2)).status == 0)
            expectFailure(try Self.checkpoint(sandbox, "d", step: 3, counts: [9, 0], vectors: 12, rank: (0, 2)),
                          mentioning: ["step 3", "rank 0's state", "feature 0", "grew by 3"])
        }
    }

    /// The documented resume of a distributed run: the stored sum goes into rank 0 and zeros into
    /// the others. A rank's state then falls below what that rank wrote before the restart; only
    /// the sum is a metric state, so only the sum must follow the previous checkpoint.
    @Test func aRankResumedFromZerosIsAcceptedWhileItsSumFollows() throws {
        try Sandbox.with { sandbox in
            try sandbox.ok(["create", "d", "--features", "2"])
            #expect(try Self.checkpoint(sandbox, "d", step: 1, counts: [2, 1], vectors: 4, rank: (0, 2)).status == 0)
            #expect(try Self.checkpoint(sandbox, "d", step: 1, counts: [3, 0], vectors: 4, rank: (1, 2)).status == 0)
            // restart: rank 0 holds the sum [5, 1] at 8 vectors, rank 1 starts again from zeros
            #expect(try Self.checkpoint(sandbox, "d", step: 2, counts: [6, 1], vectors: 10, rank: (0, 2)).status == 0)
            #expect(try Self.checkpoint(sandbox, "d", step: 2, counts: [1, 1], vectors: 2, rank: (1, 2)).status == 0)
            #expect(try sandbox.ok(["resume", "d"]) == "2\n")
            // the sum is still held to the invariant: rank 1 starting over once more would take the
            // sum from [7, 2] at 12 vectors to [8, 1] at 12, which is refused
            #expect(try Self.checkpoint(sandbox, "d", step: 3, counts: [7, 1], vectors: 11, rank: (0, 2)).status == 0)
            expectFailure(try Self.checkpoint(sandbox, "d", step: 3, counts: [1, 0], vectors: 1, rank: (1, 2)),
                          mentioning: ["step 3"])
            #expect(try sandbox.db(["verify"]).status == 0)
        }
    }

    @Test func aStoreWrittenByAnotherProgramThatBreaksTheInvariantIsReportedAndNeverCrashesAQuery() throws {
        try Sandbox.with { sandbox in
            try sandbox.ok(["create", "r", "--features", "2"])
            #expect(try Self.checkpoint(sandbox, "r", step: 1, counts: [5, 0], vectors: 10).status == 0)
            #expect(try Self.checkpoint(sandbox, "r", step: 2, counts: [6, 0], vectors: 11).status == 0)
            try Self.rewriteThroughTheSchema(sandbox, run: "r", step: 2, counts: [10, 0], vectors: 11)
            // and a summary that cannot be: 10^6 firings of 2 features over 11 vectors
            try RawStore.execute(sandbox.db, "UPDATE checkpoint_summaries SET fired_total = 1000000")

            try Self.verifyReports(sandbox, ["step 2", "feature 0", "grew by 5", "vectors grew by 1", "stored summary"])
            let show = try decode(ShowOutput.self, try sandbox.db(["show", "r", "--format", "json"]), keys: ShowOutput.keys)
            #expect(show.mean_density == 10.0 / 22.0, "summarized from the counts, not the impossible row")
            for query in Self.queries {
                try Self.answersOrRefuses(sandbox, query)
            }
            // the windows over (1, 2] would have density 5: each is refused, pointing at verify
            for query in [["diff", "r", "--from", "1", "--to", "2"], ["histogram", "r", "--from", "1", "--to", "2", "--bins", "10"],
                          ["trend", "r", "--feature", "0"], ["dense", "r", "--window", "1:2"]] {
                expectFailure(try sandbox.db(query), mentioning: ["density verify"])
            }
        }
    }
}
