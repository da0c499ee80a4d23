import Foundation
import Testing

/// The places where commands used to disagree with each other or with the user: one rule for
/// components, one spelling of windows, outputs that can be fed back, and messages that name the
/// real cause.
@Suite struct ConsistencyTests {
    /// A run "c" with 3 components of 4 features, checkpoints at 10 and 20.
    static func componentsRun(_ box: Sandbox) throws {
        try box.recordRun("c", features: 4, components: 3, steps: [10, 20])
    }

    @Test func trendAndSaelensExportRefuseAComponentsRunWithoutComponent() throws {
        try Sandbox.with { box in
            try Self.componentsRun(box)
            for arguments in [["trend", "c", "--feature", "1"],
                              ["export", "c", "--format", "saelens", "--out", box.path("s.safetensors")]] {
                let result = try box.fails(arguments, mentioning: ["3 components", "--component", "0 to 2"])
                #expect(!result.stderr.contains("Usage"), "\(result)")
            }
            // With --component both answer, and agree with each other on the component chosen.
            let trend = try box.ok(["trend", "c", "--feature", "1", "--component", "2", "--format", "json"])
            #expect(trend.contains("\"component\":2"))
            try box.ok(["export", "c", "--format", "saelens", "--component", "2", "--out", box.path("s.safetensors")])
        }
    }

    @Test func everyWindowCommandTakesBothSpellings() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 8, steps: [10, 20, 30])
            let pairs: [([String], [String])] = [
                (["dead", "r", "--window", "10:30", "--format", "json"], ["dead", "r", "--from", "10", "--to", "30", "--format", "json"]),
                (["dense", "r", "--window", "10:30", "--format", "json"], ["dense", "r", "--from", "10", "--to", "30", "--format", "json"]),
                (["diff", "r", "--window", "10:30", "--format", "json"], ["diff", "r", "--from", "10", "--to", "30", "--format", "json"]),
                (["histogram", "r", "--window", "start:20", "--format", "json"], ["histogram", "r", "--from", "start", "--to", "20", "--format", "json"]),
                (["export", "r", "--window", "10:latest", "--format", "csv"], ["export", "r", "--from", "10", "--format", "csv"]),
            ]
            for (window, fromTo) in pairs {
                let a = try box.ok(window), b = try box.ok(fromTo)
                #expect(a == b, "`\(window.joined(separator: " "))` and `\(fromTo.joined(separator: " "))` differ")
                try box.fails(window + ["--from", "10"], mentioning: ["--window", "--from", "not both"])
            }
        }
    }

    @Test func verifyTakesTheFormatsItsHelpLists() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 8, steps: [10, 20])
            let help = try box.density(["verify", "--help"]).stdout
            for format in ["table", "json", "csv"] where help.contains(format) {
                let result = try box.db(["verify", "--format", format])
                #expect(result.status == 0, "verify --help lists \(format): \(result)")
            }
            let csv = try box.ok(["verify", "--format", "csv"])
            #expect(csv == "run,step,component,chunk,message\n")
            // A damaged chunk: one row naming it, and the exit status says something is wrong.
            try RawStore.execute(box.db, "UPDATE chunks SET checksum = checksum + 1 WHERE rowid = (SELECT min(rowid) FROM chunks)")
            let damaged = try box.db(["verify", "--format", "csv"])
            let rows = damaged.stdout.split(separator: "\n")
            #expect(damaged.status == 1 && rows.count == 2 && rows[1].hasPrefix("r,10,0,0,"), "\(damaged)")
        }
    }

    @Test func aStateFileFeedsBackToCheckpointAndImport() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 8, steps: [10, 20])
            try box.ok(["state", "r", "--step", "10", "--dtype", "int64", "--out", box.path("s10.safetensors")])
            try box.ok(["create", "copy", "--features", "8"])
            try box.ok(["checkpoint", "copy", box.path("s10.safetensors")])
            try FileManager.default.createDirectory(atPath: box.path("states"), withIntermediateDirectories: false)
            try box.ok(["state", "r", "--out", box.path("states/latest.safetensors")])
            try box.ok(["import", "copy", box.path("states")])
            let original = try box.ok(["export", "r", "--what", "counts", "--format", "json"])
            let copied = try box.ok(["export", "copy", "--what", "counts", "--format", "json"])
            #expect(original.replacingOccurrences(of: "\"r\"", with: "\"copy\"") == copied)
            #expect(try box.ok(["show", "copy", "--step", "first", "--format", "json"]).contains("\"step\":10,"))
        }
    }

    @Test func aStepThatDisagreesWithTheFilesStepIsRefused() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "2"])
            let file = try Numpy.writeState("s.safetensors", counts: [1, 2], shape: [2], vectors: 4, step: 5, in: box)
            try box.fails(["checkpoint", "r", "--step", "7", file], mentioning: ["--step 7", "step 5", "s.safetensors"])
            #expect(try box.runs()["r"]?.checkpoints == 0)
            try box.ok(["checkpoint", "r", "--step", "5", file])
            #expect(try box.runs()["r"]?.latest_step == 5)
        }
    }

    @Test func diffSaysWhenThePreviousWindowIsEmpty() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "2"])
            for (step, counts, vectors) in [(10, [1, 0], 5), (20, [1, 0], 5), (30, [3, 1], 9)] as [(Int64, [Int64], Int64)] {
                let file = try Numpy.writeState("s\(step).safetensors", counts: counts, shape: [2], vectors: vectors, in: box)
                try box.ok(["checkpoint", "r", "--step", String(step), file])
            }
            let table = try box.ok(["diff", "r", "--from", "20", "--to", "30"])
            #expect(table.contains("no risers or fallers") && table.contains("(10, 20]") && table.contains("no activation vectors"), "\(table)")
            let json = try box.ok(["diff", "r", "--from", "20", "--to", "30", "--format", "json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let previous = try #require(object["previous"] as? [String: Any], "\(json)")
            #expect(previous["from"] as? Int == 10 && previous["to"] as? Int == 20 && previous["vectors"] as? Int == 0)
            #expect(object["density"] != nil && object["vectors"] as? Int == 4)
            let fromStart = try box.ok(["diff", "r", "--from", "start", "--to", "30", "--format", "json"])
            #expect(fromStart.contains("\"previous\":null"))
        }
    }

    @Test func aZeroVectorCheckpointHasNoHistogramEitherWay() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "3"])
            let empty = try Numpy.writeState("s10.safetensors", counts: [0, 0, 0], shape: [3], vectors: 0, in: box)
            let full = try Numpy.writeState("s20.safetensors", counts: [1, 0, 2], shape: [3], vectors: 4, in: box)
            try box.ok(["checkpoint", "r", "--step", "10", empty])
            try box.ok(["checkpoint", "r", "--step", "20", full])
            try box.fails(["histogram", "r", "--step", "10"], mentioning: ["no activation vectors", "step 10"])
            let json = try box.ok(["histogram", "r", "--over-training", "--format", "json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let steps = try #require(object["steps"] as? [[String: Any]])
            #expect(steps.count == 2)
            #expect(steps[0]["counts"] is NSNull, "a checkpoint with no vectors has no histogram: \(json)")
            #expect((steps[1]["counts"] as? [Int])?.reduce(0, +) == 3)
            let csv = try box.ok(["histogram", "r", "--over-training", "--format", "csv"]).split(separator: "\n")
            #expect(csv[1] == "10,0" + String(repeating: ",", count: 10), "\(csv)")
            let table = try box.ok(["histogram", "r", "--over-training"])
            #expect(table.contains("no activation vectors"), "\(table)")
        }
    }

    @Test func showOnARunWithOnlyPendingStepsNamesTheMissingRanks() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "2"])
            let file = try Numpy.writeState("s.safetensors", counts: [1, 0], shape: [2], vectors: 3, in: box)
            try box.ok(["checkpoint", "r", "--step", "10", "--rank", "0", "--world-size", "3", file])
            for query in [["show", "r"], ["diff", "r", "--from", "start"], ["trend", "r", "--feature", "0"],
                          ["histogram", "r", "--over-training"], ["dead", "r"], ["report", "r", "--out", box.path("r.html")]] {
                let result = try box.fails(query, mentioning: ["pending", "step 10", "ranks 1, 2"])
                #expect(!result.stderr.contains("density ingest"), "\(result)")
            }
        }
    }

    @Test func createInAMissingFolderBlamesTheFolder() throws {
        try Sandbox.with { box in
            let result = try box.density(["create", "r", "--features", "2", "--db", box.path("nodir/x.db")])
            expectFailure(result, mentioning: ["nodir", "does not exist", "mkdir"])
            #expect(!result.stderr.contains("SQLite"), "\(result)")
            #expect(!FileManager.default.fileExists(atPath: box.path("nodir")))
        }
    }

    @Test func aFloatCountBeyondInt64IsTooLargeNotFractional() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "2"])
            let counts = try box.npy("c.npy", "np.array([1e19, 0.0])")
            let vectors = try box.npy("v.npy", "np.array(5, dtype=np.int64)")
            let script = """
                import sys, numpy as np
                from feature_density_recorder import safetensors_bytes
                open(sys.argv[1], "wb").write(safetensors_bytes({"neuron_fired_count": np.array([1e19, 0.0]),
                    "num_activation_vectors": np.array(5, dtype=np.int64)}))
                """
            _ = try Numpy.run(script, [box.path("big.safetensors")], in: box)
            for files in [[counts, vectors], [box.path("big.safetensors")]] {
                let result = try box.fails(["checkpoint", "r", "--step", "1"] + files, mentioning: ["too large", "1e+19"])
                #expect(!result.stderr.contains("whole number"), "\(result)")
            }
            let half = try box.npy("h.npy", "np.array([1.5, 0.0])")
            try box.fails(["checkpoint", "r", "--step", "1", half, vectors], mentioning: ["whole number", "1.5"])
        }
    }

    @Test func compareFormatsEdgesAsDecimals() throws {
        try Sandbox.with { box in
            // Every density 3/1000: log10 is -2.52, in the bin [-2.6, -2.4), whose edges are not
            // exact binary fractions.
            for run in ["a", "b"] {
                try box.ok(["create", run, "--features", "4"])
                let file = try Numpy.writeState("\(run).safetensors", counts: [3, 3, 3, 3], shape: [4], vectors: 1000, in: box)
                try box.ok(["checkpoint", run, "--step", "10", file])
            }
            let csv = try box.ok(["compare", "a", "b", "--format", "csv"]).split(separator: "\n").dropFirst()
            let json = try box.ok(["compare", "a", "b", "--format", "json"])
            let bounds = csv.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).suffix(2) }
            #expect(bounds == ["-2.6", "-2.4", "-2.6", "-2.4"], "\(csv)")
            #expect(json.contains("\"median_log10_density\":[-2.6,-2.4]"), "\(json)")
        }
    }

    @Test func tablesAlignWideCharacters() throws {
        try Sandbox.with { box in
            try box.ok(["create", "特徴密度", "--features", "2"])
            try box.ok(["create", "r", "--features", "16"])
            try box.ok(["create", "ｆｕｌｌ", "--features", "3"])
            let table = try box.ok(["runs"])
            // Display widths as Unicode's East Asian Width gives them (W and F take two columns).
            let script = """
                import json, sys, unicodedata
                print(json.dumps([sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
                                  for line in sys.argv[1].splitlines()]))
                """
            let widths = try JSONDecoder().decode([Int].self, from: Numpy.run(script, [table], in: box))
            #expect(widths.count == 5 && Set(widths).count == 1, "lines of different widths \(widths):\n\(table)")
        }
    }

    @Test func anEmptyBatchAddsNothingToAMultiFileIngest() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "4"])
            let a = try box.npy("a.npy", "np.array([[1, 0, 2, 0], [0, 0, 3, 1]], dtype=np.float32)")
            let empty = try box.npy("empty.npy", "np.zeros((0, 4), dtype=np.float32)")
            let result = try box.db(["ingest", "r", "--step", "1", a, empty])
            #expect(result.status == 0, "\(result)")
            #expect(result.stderr.contains("empty.npy") && result.stderr.contains("0 vectors"), "\(result)")
            let counts = try box.ok(["export", "r", "--what", "counts", "--format", "json"])
            #expect(counts.contains("\"vectors\":2") && counts.contains("\"values\":[1,0,2,1]"), "\(counts)")
            // A batch of 0 alone makes no checkpoint.
            try box.fails(["ingest", "r", "--step", "2", empty], mentioning: ["empty.npy", "no activation vectors"])
        }
    }

    @Test func theDemoHistogramShowsEveryBin() throws {
        try Sandbox.with { box in
            let output = try box.ok(["demo", "--features", "512", "--batch", "256", "--checkpoints", "8"])
            let labels = output.split(separator: "\n").compactMap { line in
                line.prefixMatch(of: /\s*\[(-?\d+), (-?\d+)[)\]]/).map { "\($0.1) \($0.2)" }
            }
            #expect(labels == (0..<10).map { "\($0 - 10) \($0 - 9)" },
                    "\(output)")
        }
    }
}
