import DensityStore
import DensityWorkload
import Foundation
import Testing

/// Damage found and named: `density verify` reports a flipped chunk blob, or a damaged page, with
/// the run, step, component and chunk (or SQLite's finding) and exits non-zero; queries through the
/// damaged chunk fail with the same message; queries that do not touch it still give their answers.
@Suite struct CorruptionTests {
    /// Runs `a` and `b`: 16 features in 4 chunks of 4, a keyframe every 2 checkpoints, steps 10 to 50.
    private func record(_ sandbox: Sandbox, features: Int = 16, chunk: Int = 4, batch: Int = 24) throws {
        for (run, seed) in [("a", 1), ("b", 2)] {
            try sandbox.ok(["create", run, "--features", String(features), "--chunk-features", String(chunk),
                            "--keyframe-interval", "2"])
            for step in stride(from: 10, through: 50, by: 10) {
                let file = try sandbox.npy("\(run)\(step).npy",
                                           "np.random.default_rng(\(seed * 100 + step)).standard_normal((\(batch), \(features))).astype(np.float32) - 0.8")
                try sandbox.ok(["ingest", run, "--step", String(step), file])
            }
        }
    }

    /// Flips one byte of the blob of (run, step, component 0, chunk) with SQL.
    private func flipChunkByte(_ path: String, run: String, step: Int64, chunk: Int) throws {
        let connection = try Connection(path: path, mode: .readWrite)
        let (id, data) = try #require(try connection.queryFirst("""
            SELECT k.id, k.data FROM chunks k JOIN checkpoints c ON c.id = k.checkpoint_id JOIN runs r ON r.id = c.run_id
            WHERE r.name = ? AND c.step = ? AND k.component = 0 AND k.chunk = ?
            """, [.text(run), .integer(step), .integer(Int64(chunk))]) { ($0.int64(0), $0.data(1)) })
        var damaged = data
        damaged[damaged.startIndex + damaged.count / 2] ^= 0x10
        try connection.execute("UPDATE chunks SET data = ? WHERE id = ?", [.blob(damaged), .integer(id)])
        #expect(connection.changes == 1)
    }

    @Test func flippedChunkIsNamedByVerifyAndByEveryQueryThroughIt() throws {
        try Sandbox.with { sandbox in
            try record(sandbox)
            #expect(try sandbox.ok(["verify"]).hasPrefix("ok: 2 runs, 10 checkpoints, 40 chunks verified"))
            // Answers that do not read the chunk to be damaged (run a, step 30 keyframe, chunk 1).
            let untouched: [[String]] = [
                ["diff", "a", "--from", "10", "--to", "20", "--format", "json"],
                ["diff", "a", "--from", "start", "--to", "50", "--format", "json"],  // step 50 is a keyframe
                ["trend", "a", "--feature", "2", "--format", "json"],              // chunk 0
                ["show", "a", "--step", "30", "--format", "json"],                 // the stored summary
                ["diff", "b", "--from", "10", "--to", "50", "--format", "json"],
                ["trend", "b", "--feature", "5", "--format", "json"],
            ]
            let before = try untouched.map { try sandbox.ok($0) }

            try flipChunkByte(sandbox.db, run: "a", step: 30, chunk: 1)

            let verify = try sandbox.db(["verify"])
            #expect(verify.status == 1, "\(verify)")
            let lines = verify.stdout.split(separator: "\n").map(String.init)
            try #require(lines.count == 1, "\(verify)")
            let message = lines[0]
            #expect(message.hasPrefix("run 'a', step 30, component 0, chunk 1 is damaged: checksum mismatch"))
            #expect(verify.stderr.contains("1 problem(s) found; 2 runs, 10 checkpoints, 40 chunks verified"))

            let json = try sandbox.db(["verify", "--format", "json"])
            #expect(json.status == 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(object["ok"] as? Bool == false)
            let problems = try #require(object["problems"] as? [[String: Any]])
            try #require(problems.count == 1)
            #expect(problems[0]["run"] as? String == "a")
            #expect((problems[0]["step"] as? NSNumber)?.int64Value == 30)
            #expect((problems[0]["component"] as? NSNumber)?.intValue == 0)
            #expect((problems[0]["chunk"] as? NSNumber)?.intValue == 1)
            #expect(problems[0]["message"] as? String == message)

            // Only run b: nothing wrong.
            #expect(try sandbox.ok(["verify", "b"]).hasPrefix("ok: 1 runs, 5 checkpoints, 20 chunks verified"))

            // Every query through the damaged chunk (step 30, and step 40, a delta on it) fails
            // with verify's message; the others answer as before.
            for query in [["diff", "a", "--from", "10", "--to", "30"], ["diff", "a", "--from", "20", "--to", "40"],
                          ["trend", "a", "--feature", "5"], ["export", "a", "--step", "40", "--format", "csv", "--out", sandbox.path("x.csv")],
                          ["dead", "a", "--window", "start:30"]] {
                let result = try sandbox.db(query)
                expectFailure(result, mentioning: [])
                #expect(result.stderr == "Error: \(message)\n", "\(query): \(result)")
            }
            let after = try untouched.map { try sandbox.ok($0) }
            #expect(after == before)
        }
    }

    @Test func damagedPagesAreFoundAndNeverGiveAWrongAnswer() throws {
        try Sandbox.with { sandbox in
            try record(sandbox, features: 6_000, chunk: 1_000, batch: 16)
            let queries: [[String]] = [
                ["runs", "--format", "json"],
                ["show", "a", "--format", "json"],
                ["diff", "a", "--from", "start", "--to", "latest", "--format", "json"],
                ["diff", "b", "--from", "20", "--to", "40", "--format", "json"],
                ["trend", "b", "--feature", "4321", "--format", "json"],
            ]
            let pristineAnswers = try queries.map { try sandbox.ok($0) }
            // Every process has exited: fold the WAL into the file, which then holds everything.
            try RawStore.execute(sandbox.db, "PRAGMA wal_checkpoint(TRUNCATE)")
            let wal = (try? FileManager.default.attributesOfItem(atPath: sandbox.db + "-wal"))?[.size] as? NSNumber
            try #require((wal?.intValue ?? 0) == 0, "the WAL still holds \(wal ?? 0) bytes")
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sandbox.db + suffix) }
            let pristine = try Data(contentsOf: URL(fileURLWithPath: sandbox.db))
            let pageSize = Int(pristine[16]) << 8 | Int(pristine[17])
            let pages = pristine.count / pageSize
            try #require(pages >= 10)

            var rng = SplitMix64(seed: 77)
            var detected = 0, scrambledFound = 0, wrongAnswers = 0, crashes = 0
            let trials = TrustSettings.long ? 100 : 12
            for trial in 0..<trials {
                var damaged = pristine
                let page = 2 + Int(rng.next() % UInt64(pages - 1))  // never page 1, the file header
                let start = (page - 1) * pageSize
                // Half the trials scramble the whole page, half flip 32 bytes somewhere in it.
                let range = trial % 2 == 0 ? start..<(start + pageSize)
                    : { let at = start + Int(rng.next() % UInt64(pageSize - 32)); return at..<(at + 32) }()
                for index in range { damaged[index] ^= UInt8(1 + rng.next() % 255) }
                try damaged.write(to: URL(fileURLWithPath: sandbox.db))

                let verify = try sandbox.db(["verify"])
                #expect(verify.status == 0 || verify.status == 1, "verify crashed on page \(page): \(verify)")
                if verify.status == 1 {
                    detected += 1
                    if trial % 2 == 0 { scrambledFound += 1 }
                    #expect(!verify.stdout.isEmpty || verify.stderr.contains("Error"), "\(verify)")
                }
                for (query, answer) in zip(queries, pristineAnswers) {
                    let result = try sandbox.db(query)
                    if result.status == 0 {
                        if result.stdout != answer {
                            wrongAnswers += 1
                            Issue.record("page \(page) damaged: `\(query.joined(separator: " "))` gave a different answer; verify said: \(verify.stdout)")
                        }
                        if verify.status == 0 { continue }
                    } else if result.status > 1 || !result.stderr.hasPrefix("Error: ") {
                        crashes += 1
                        Issue.record("page \(page) damaged: `\(query.joined(separator: " "))` did not fail cleanly: \(result)")
                    }
                }
            }
            print("corruption: \(trials) damaged copies (\(trials / 2) whole pages scrambled, \(trials - trials / 2) runs of 32 bytes flipped), \(detected) found by verify (\(scrambledFound) scrambled pages), \(wrongAnswers) wrong answers, \(crashes) unclean failures")
            // A scrambled page is always found; 32 flipped bytes may fall in a page's free space.
            #expect(scrambledFound == trials / 2, "verify found \(scrambledFound) of \(trials / 2) scrambled pages")
            #expect(wrongAnswers == 0 && crashes == 0)
        }
    }
}
