import Foundation
import Testing

/// The README's schema section is enough for an independent reader: its Python code, taken from
/// README.md as it is, reads every stored state exactly (keyframes, deltas, a rewind, compaction,
/// components, ranks, chunks of every size) and computes the histogram bins the tool computes,
/// values within a float step of a bin's edge included.
@Suite struct ReadmeReaderTests {
    /// README.md's text.
    static func readme() throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The README's one ```python block that contains `marker`.
    static func pythonBlock(containing marker: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let blocks = try readme().components(separatedBy: "```python\n").dropFirst().map { $0.components(separatedBy: "\n```")[0] }
        let matching = blocks.filter { $0.contains(marker) }
        try #require(matching.count == 1, "README.md should have one python block with \(marker), found \(matching.count)",
                     sourceLocation: sourceLocation)
        return matching[0]
    }

    @Test func theReadmeReaderReproducesEveryStoredState() throws {
        try Sandbox.with { box in
            let db = box.path("density.sqlite")
            // The demo: keyframes every 32 checkpoints, deltas, and a crash with a resume.
            #expect(try box.density(["demo", "--db", db, "--features", "300", "--batch", "64"]).status == 0)
            // Components, chunks of 2 features (the last holds 1), a keyframe every 3 checkpoints,
            // two ranks, then compaction.
            #expect(try box.density(["create", "c", "--features", "5", "--components", "2", "--chunk-features", "2",
                                     "--keyframe-interval", "3", "--db", db]).status == 0)
            for step in stride(from: Int64(10), through: 90, by: 10) {
                for rank in 0..<2 {
                    // Cumulative per rank: feature i fires (i + rank) % 4 times every 10 steps.
                    let counts = (0..<10).map { Int64(($0 + rank) % 4) * step / 10 }
                    let file = try Numpy.writeState("c-\(step)-\(rank).safetensors", counts: counts, shape: [2, 5],
                                                    vectors: 4 * step, in: box)
                    let result = try box.density(["checkpoint", "c", "--step", String(step), "--rank", String(rank),
                                                  "--world-size", "2", file, "--db", db])
                    #expect(result.status == 0, "\(result)")
                }
            }
            #expect(try box.density(["compact", "c", "--keep-every", "2", "--db", db]).status == 0)
            let reader = try Self.pythonBlock(containing: "def state(db, run_name, step)")
            let check = """
                import json, os, sqlite3, subprocess, sys
                README = sys.argv[1]
                exec(compile(README, "README.md", "exec"))   # runs the example as written, in this folder
                db = sqlite3.connect("density.sqlite")
                checked, mismatches = 0, []
                for run in ["demo", "c"]:
                    run_id, = db.execute("SELECT id FROM runs WHERE name = ?", (run,)).fetchone()
                    steps = [s for s, in db.execute("SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step", (run_id,))]
                    for step in steps + [s + 1 for s in steps[:5]]:
                        got = state(db, run, step)
                        out = subprocess.run([os.environ["DENSITY"], "export", run, "--step", str(step), "--what", "counts",
                                              "--format", "json", "--db", "density.sqlite"], capture_output=True, text=True)
                        want = json.loads(out.stdout)
                        checked += 1
                        if got is None or list(got[0]) != want["values"] or got[1] != want["vectors"]:
                            mismatches.append([run, step])
                    before = state(db, run, steps[0] - 1)
                    if before is not None:
                        mismatches.append([run, "before the first checkpoint", repr(before)])
                print(json.dumps({"checked": checked, "mismatches": mismatches}))
                """
            let data = try Numpy.run(check, [reader], in: box)
            let result = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            #expect((result?["checked"] as? Int ?? 0) > 40, "\(String(decoding: data, as: UTF8.self))")
            #expect((result?["mismatches"] as? [Any])?.isEmpty == true, "\(String(decoding: data, as: UTF8.self))")
        }
    }

    @Test func theDocumentedBinFormulaMatchesTheToolAtEveryEdge() throws {
        try Sandbox.with { box in
            let formula = try Self.pythonBlock(containing: "def histogram_bin(count, vectors, bins")
            // Counts of 10^17 vectors at every bin edge of 50 and 7 bins: where the documented rule
            // and the naive floor((x + 10) / 0.2) disagree, and the first count of each bin.
            let pick = """
                import json, math, sys
                exec(sys.argv[1])
                n = 10**17
                def naive(count):
                    return min(49, max(0, math.floor((math.log10(count / n + 1e-10) + 10) / 0.2)))
                counts, disagree = {0, 1, n - 1, n}, 0
                for bins in (50, 7):
                    for b in range(1, bins):
                        near = round((10 ** (-10 + 10 * b / bins) - 1e-10) * n)
                        for c in range(max(0, near - 2000), min(n, near + 2000) + 1):
                            if histogram_bin(c, n, bins) != histogram_bin(c - 1, n, bins):
                                counts.update({c - 1, c})
                            if bins == 50 and histogram_bin(c, n, 50) != naive(c) and disagree < 150:
                                counts.add(c)
                                disagree += 1
                counts = sorted(counts)
                print(json.dumps({"counts": counts, "disagree": disagree,
                                  "expected": {str(bins): [sum(1 for c in counts if histogram_bin(c, n, bins) == b) for b in range(bins)]
                                               for bins in (50, 7)},
                                  "naive": [sum(1 for c in counts if naive(c) == b) for b in range(50)]}))
                """
            struct Picked: Decodable {
                var counts: [Int64]
                var disagree: Int
                var expected: [String: [Int]]
                var naive: [Int]
            }
            let picked = try JSONDecoder().decode(Picked.self, from: Numpy.run(pick, [formula], in: box))
            #expect(picked.disagree > 10, "the edge values include ones the naive formula bins differently")
            try box.ok(["create", "e", "--features", String(picked.counts.count)])
            let file = try Numpy.writeState("e.safetensors", counts: picked.counts, shape: [picked.counts.count],
                                            vectors: 100_000_000_000_000_000, in: box)
            try box.ok(["checkpoint", "e", "--step", "1", file])
            for bins in [50, 7] {
                let json = try box.ok(["histogram", "e", "--bins", String(bins), "--format", "json"])
                let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
                let counts = (object?["bins"] as? [[String: Any]])?.compactMap { $0["count"] as? Int }
                #expect(counts == picked.expected[String(bins)], "\(bins) bins")
                if bins == 50 { #expect(counts != picked.naive, "the test would not tell the naive formula apart") }
            }
            // The stored summary (histogram --over-training reads it) agrees too.
            let stored = try box.ok(["histogram", "e", "--over-training", "--bins", "50", "--format", "json"])
            #expect(stored.contains("\"counts\":[" + picked.expected["50"]!.map(String.init).joined(separator: ",") + "]"))
        }
    }
}
