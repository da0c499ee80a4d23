import DensityMetric
@testable import DensityCLI
import DensityStore
import Foundation
import Testing

/// `density runs` as a sweep table across stores: JSON from the stored summaries, name clashes
/// told apart, unreadable stores skipped, a mirror's age.
@Suite struct SweepTableTests {
    /// `runs --format json` over `stores`, parsed.
    static func runs(_ box: Sandbox, _ stores: [String]) throws -> (rows: [[String: Any]], result: CommandResult) {
        let result = try box.density(["runs", "--format", "json"] + stores.flatMap { ["--db", $0] })
        try #require(result.status == 0, "\(result)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        return (rows, result)
    }

    @Test func jsonCarriesEveryRunsMetaAndHealthFromTheStoredSummaries() throws {
        try Sandbox.with { box in
            try box.ok(["demo", "--run", "l1-1e-3"])
            try box.ok(["create", "l1-3e-3", "--features", "16", "--meta", #"{"l1": 0.003, "seed": 2, "tag": "wide"}"#])
            let (rows, _) = try Self.runs(box, [box.db])
            try #require(rows.count == 2)
            let store = try DensityStore(path: box.db, readOnly: true)
            for row in rows {
                let name = try #require(row["name"] as? String)
                let (run, summaries) = try store.read { (try $0.run(named: name), try $0.summaries(run: name)) }
                #expect(row["checkpoints"] as? Int == summaries.count)
                #expect(row["store"] as? String == box.db)
                let meta = try #require(row["meta"] as? [String: Any])
                let expectedMeta = try #require(try JSONSerialization.jsonObject(with: Data(run.metadata!.utf8)) as? [String: Any])
                #expect(NSDictionary(dictionary: meta).isEqual(to: expectedMeta))
                guard let (checkpoint, summary) = summaries.last else {
                    #expect(row["dead"] is NSNull && row["dense"] is NSNull && row["latest_step"] is NSNull && row["mean_log10_density"] is NSNull)
                    #expect((row["trail"] as? [Any])?.isEmpty == true)
                    continue
                }
                let width = Double(summary.width)
                let dead = try #require(row["dead"] as? [String: Any]), dense = try #require(row["dense"] as? [String: Any])
                #expect(dead["count"] as? Int == summary.dead && dead["fraction"] as? Double == Double(summary.dead) / width)
                #expect(dense["count"] as? Int == summary.dense && dense["fraction"] as? Double == Double(summary.dense) / width)
                #expect(row["latest_step"] as? Int == Int(checkpoint.step))
                #expect((row["vectors"] as? NSNumber)?.int64Value == checkpoint.vectors)
                #expect(row["latest_checkpoint_at"] as? String == checkpoint.wallTime)
                // the mean of log10(density + 1e-10), from the histogram, within 0.1 of the exact one
                let state = try store.read { try $0.state(run: name) }.state
                let exact = state.counts.map { log10(Double($0) / Double(state.vectors) + 1e-10) }.reduce(0, +) / width
                let mean = try #require(row["mean_log10_density"] as? Double)
                #expect(abs(mean - exact) <= 0.1, "mean log10 density \(mean), exact \(exact)")
                // the trail: evenly spaced checkpoints, first and latest included, fractions as stored
                let trail = try #require(row["trail"] as? [[Any]])
                let byStep = Dictionary(uniqueKeysWithValues: summaries.map { ($0.checkpoint.step, $0.summary) })
                #expect(trail.count == min(64, summaries.count))
                #expect((trail.first?[0] as? NSNumber)?.int64Value == summaries.first?.checkpoint.step)
                #expect((trail.last?[0] as? NSNumber)?.int64Value == checkpoint.step)
                for point in trail {
                    let step = try #require((point[0] as? NSNumber)?.int64Value)
                    let stored = try #require(byStep[step])
                    #expect(point[1] as? Double == Double(stored.dead) / width && point[2] as? Double == Double(stored.dense) / width)
                }
                let rate = try #require(row["rate"] as? [String: Double])
                #expect((rate["steps_per_second"] ?? 0) > 0 && (rate["checkpoints_per_minute"] ?? 0) > 0)
                #expect(row["mirror"] is NSNull)
            }
            // the table has the meta keys as columns and a sparkline per run
            let table = try box.ok(["runs"])
            let header = try #require(table.split(separator: "\n").first)
            for column in ["l1", "seed", "tag", "dead over training", "dense over training"] { #expect(header.contains(column), "\(header)") }
            #expect(table.contains("wide") && table.contains(where: { Sparkline.levels.contains($0) }))
        }
    }

    @Test func severalStoresAreOneViewWithClashingNamesToldApartAndUnreadableOnesSkipped() throws {
        try Sandbox.with { box in
            let (a, b, c) = (box.path("a.sqlite"), box.path("b.sqlite"), box.path("c.sqlite"))
            for (path, runs) in [(a, ["r", "only-a"]), (b, ["r"]), (c, ["only-c"])] {
                for run in runs { _ = try box.density(["create", run, "--features", "8", "--meta", #"{"store": "\#(run)"}"#, "--db", path]) }
            }
            let file = try box.npy("acts.npy", "np.abs(np.random.default_rng(1).standard_normal((20, 8))).astype(np.float32)")
            _ = try box.density(["ingest", "r", "--step", "5", file, "--db", b])
            // unreadable: not SQLite, and a store cut short as by a copy in progress
            let garbage = try box.write(Data("not a store".utf8), to: "garbage.sqlite")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: c))
            let cut = try box.write(bytes.prefix(bytes.count / 2), to: "cut.sqlite")
            let (rows, result) = try Self.runs(box, [a, b, garbage, cut, c])
            #expect(Set(rows.compactMap { $0["name"] as? String }) == ["r@a.sqlite", "r@b.sqlite", "only-a", "only-c"])
            let r = try #require(rows.first { $0["name"] as? String == "r@b.sqlite" })
            #expect(r["run"] as? String == "r" && r["store"] as? String == b && r["latest_step"] as? Int == 5)
            #expect(result.stderr.contains("garbage.sqlite") && result.stderr.contains("skipped"), "\(result)")
            // a quoted glob names the same stores
            let globbed = try Self.runs(box, [box.path("[abc].sqlite")])
            #expect(globbed.rows.count == 4 && globbed.result.stderr.isEmpty, "\(globbed.result)")
            // a command about one run reads it from the store holding it, and names a clash
            let picked = try box.density(["show", "r@b.sqlite", "--db", a, "--db", b, "--db", garbage, "--format", "json"])
            #expect(picked.status == 0 && picked.stdout.contains("\"step\":5"), "\(picked)")
            expectFailure(try box.density(["show", "r", "--db", a, "--db", b]), mentioning: ["'r@a.sqlite'", "'r@b.sqlite'"])
            // none readable: an error
            let none = try box.density(["runs", "--db", garbage, "--db", cut])
            #expect(none.status == 1 && none.stderr.contains("none of the 2 stores"), "\(none)")
        }
    }

    @Test func sortAndWhereTakeAnyColumnInEveryFormat() throws {
        try Sandbox.with { box in
            // four runs in two stores: l1 and seed as meta, dead fractions 3/6, 1/6, 2/6 and none yet
            let other = box.path("other.sqlite")
            let runs: [(store: String, name: String, l1: String, seed: Int, dead: Int?)] = [
                (box.db, "a", "0.001", 1, 3), (box.db, "b", "0.003", 1, 1), (other, "c", "0.001", 2, 2), (other, "d", "0.0003", 2, nil),
            ]
            for run in runs {
                _ = try box.density(["create", run.name, "--features", "6", "--meta", #"{"l1": \#(run.l1), "seed": \#(run.seed)}"#, "--db", run.store])
                guard let dead = run.dead else { continue }
                let store = try DensityStore(path: run.store)
                let counts = (0..<6).map { Int64($0 < dead ? 0 : 1) }
                try store.appendCheckpoint(run: run.name, step: 10, state: DensityState(features: 6, components: nil, counts: counts, vectors: 4))
            }
            let both = ["--db", box.db, "--db", other]
            func names(_ arguments: [String]) throws -> [String] {
                let result = try box.density(["runs", "--format", "json"] + both + arguments)
                try #require(result.status == 0, "\(result)")
                let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
                return rows.compactMap { $0["name"] as? String }
            }
            #expect(try names(["--sort", "dead"]) == ["b", "c", "a", "d"])        // no checkpoint yet: last
            #expect(try names(["--sort", "-dead"]) == ["a", "c", "b", "d"])
            #expect(try names(["--sort", "l1"]) == ["d", "a", "c", "b"])          // numbers as numbers, ties in order
            #expect(try names(["--sort", "-name"]) == ["d", "c", "b", "a"])
            #expect(try names(["--where", "l1=0.001"]) == ["a", "c"])             // 0.001 as written in the meta
            #expect(try names(["--where", "l1=1e-3", "--where", "seed>=2"]) == ["c"])
            #expect(try names(["--where", "dead>0.3", "--sort", "-dead"]) == ["a", "c"])
            #expect(try names(["--where", "seed!=1"]) == ["c", "d"])
            #expect(try names(["--where", "step>0"]) == ["a", "b", "c"])          // a missing cell never matches
            // the table and CSV honour them too
            let csv = try box.density(["runs", "--format", "csv", "--sort", "-dead", "--where", "seed=1"] + both)
            #expect(csv.stdout.split(separator: "\n").dropFirst().map { String($0.prefix(1)) } == ["a", "b"], "\(csv)")
            let table = try box.density(["runs", "--where", "l1=0.003"] + both)
            #expect(table.status == 0 && table.stdout.split(separator: "\n").count == 3, "\(table)")  // header, rule, b
            let none = try box.density(["runs", "--where", "dead>0.9"] + both)
            #expect(none.status == 0 && none.stderr.contains("no run of the 4 matches --where 'dead>0.9'"), "\(none)")
            // bad columns and spellings are named
            expectFailure(try box.density(["runs", "--sort", "lr"] + both), mentioning: ["no column 'lr'", "l1", "seed", "dead"])
            expectFailure(try box.density(["runs", "--where", "lr=1"] + both), mentioning: ["--where", "no column 'lr'"])
            expectFailure(try box.density(["runs", "--where", "l1"] + both), mentioning: ["--where 'l1'", "a comparison"])
        }
    }

    @Test func runsOnAMirrorSaysHowOldItIs() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "4"])
            let shared = box.path("shared")
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            let recorded = try box.density(["record", "r", "--db", box.db, "--mirror", shared])
            #expect(recorded.status == 0, "\(recorded)")
            let mirror = shared + "/store.sqlite"
            let (rows, _) = try Self.runs(box, [mirror])
            let origin = try #require(rows.first?["mirror"] as? [String: Any])
            #expect(origin["source"] as? String == (try StoreMirror.origin(at: mirror))?.source)
            let age = try #require(origin["age_seconds"] as? Double)
            #expect(age >= 0 && age < 600)
            let table = try box.density(["runs", "--db", mirror])
            #expect(table.stderr.contains("mirror of ") && table.stderr.contains("old"), "\(table)")
        }
    }
}
