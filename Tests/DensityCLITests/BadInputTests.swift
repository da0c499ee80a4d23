import Foundation
import Testing

/// Every refusal: a non-zero exit, a message on stderr that names the problem, nothing on stdout,
/// and the store exactly as it was (`runs` and `show` print the same before and after).
@Suite struct BadInputTests {
    /// Run `r`: 8 features, checkpoints at 10 and 20; run `m`: 2 components x 8 features, one at 10.
    static func setUp(_ box: Sandbox) throws -> [String] {
        try box.recordRun("r", features: 8, steps: [10, 20])
        try box.recordRun("m", features: 8, components: 2, steps: [10], seed: 5)
        return try box.snapshot(["r", "m"])
    }

    @Test func wrongShapeNamesExpectedAndActual() throws {
        try Sandbox.with { box in
            let before = try Self.setUp(box)
            let cases: [(run: String, shape: String, mentions: [String])] = [
                ("r", "(10, 7)", ["[10, 7]", "[batch, 8]"]),
                ("r", "(10, 2, 8)", ["[10, 2, 8]", "[batch, 8]"]),
                ("r", "(8,)", ["[8]", "[batch, 8]"]),
                ("m", "(10, 8)", ["[10, 8]", "[batch, 2, 8]"]),
                ("m", "(10, 3, 8)", ["[10, 3, 8]", "[batch, 2, 8]"]),
                ("m", "(10, 2, 9)", ["[10, 2, 9]", "[batch, 2, 8]"]),
            ]
            for (index, c) in cases.enumerated() {
                let file = try box.npy("shape\(index).npy", "np.ones(\(c.shape), dtype=np.float32)")
                try box.fails(["ingest", c.run, "--step", "100", file], mentioning: c.mentions + ["shape\(index).npy"])
            }
            #expect(try box.snapshot(["r", "m"]) == before)
        }
    }

    @Test func oneBadFileAmongGoodOnesWritesNothing() throws {
        try Sandbox.with { box in
            let before = try Self.setUp(box)
            let good = try box.npy("good.npy", "np.ones((4, 8), dtype=np.float32)")
            let wide = try box.npy("wide.npy", "np.ones((4, 9), dtype=np.float32)")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
            let cut = try box.write(bytes.prefix(bytes.count - 5), to: "cut.npy")
            try box.fails(["ingest", "r", "--step", "30", good, wide], mentioning: ["wide.npy"])
            try box.fails(["ingest", "r", "--step", "30", wide, good], mentioning: ["wide.npy"])
            try box.fails(["ingest", "r", "--step", "30", good, good, cut], mentioning: ["cut.npy", "truncated"])
            try box.fails(["ingest", "r", "--step", "30", good, box.path("absent.npy")], mentioning: ["absent.npy"])
            #expect(try box.snapshot(["r", "m"]) == before)
            // The same good file alone is accepted at that step afterwards.
            try box.ok(["ingest", "r", "--step", "30", good])
            #expect(try box.runs()["r"]?.latest_step == 30)
        }
    }

    @Test func unknownRunListsTheKnownRuns() throws {
        try Sandbox.with { box in
            let before = try Self.setUp(box)
            let file = try box.npy("a.npy", "np.ones((4, 8), dtype=np.float32)")
            for command in [["ingest", "nope", "--step", "30", file], ["show", "nope"], ["diff", "nope", "--from", "start"],
                            ["trend", "nope", "--feature", "0"], ["resume", "nope"], ["resume", "nope", "--discard-later"]] {
                let result = try box.fails(command, mentioning: ["'nope'"])
                #expect(result.stderr.contains("m, r") || result.stderr.contains("r, m"), "known runs should be listed: \(result)")
            }
            #expect(try box.snapshot(["r", "m"]) == before)
        }
    }

    @Test func stepMustIncrease() throws {
        try Sandbox.with { box in
            let before = try Self.setUp(box)
            let file = try box.npy("a.npy", "np.ones((4, 8), dtype=np.float32)")
            for step in ["20", "15", "0"] {
                try box.fails(["ingest", "r", "--step", step, file], mentioning: ["step \(step)", "step 20", "resume"])
            }
            try box.fails(["ingest", "r", "--step", "abc", file], mentioning: ["abc", "--step"])
            try box.fails(["ingest", "r", "--step", "-5", file], mentioning: ["--step", "-5"])
            #expect(try box.snapshot(["r", "m"]) == before)
        }
    }

    @Test func malformedAndNonFloatFilesAreRefused() throws {
        try Sandbox.with { box in
            let before = try Self.setUp(box)
            let good = try Data(contentsOf: URL(fileURLWithPath: try box.npy("good.npy", "np.ones((4, 8), dtype=np.float32)")))
            let cases: [(file: String, mentions: [String])] = [
                (try box.write(good.prefix(good.count - 7), to: "short.npy"), ["short.npy", "truncated"]),
                (try box.write(good.prefix(20), to: "header.npy"), ["header.npy"]),
                (try box.write(Data("hello, not numpy\n".utf8), to: "text.npy"), ["text.npy"]),
                (try box.write(Data(), to: "empty.npy"), ["empty.npy"]),
                (try box.npy("int32.npy", "np.ones((4, 8), dtype=np.int32)"), ["int32", "float"]),
                (try box.npy("int64.npy", "np.ones((4, 8), dtype=np.int64)"), ["int64", "float"]),
                (try box.npy("bool.npy", "np.ones((4, 8), dtype=bool)"), ["bool.npy", "float"]),
                (try box.npy("complex.npy", "np.ones((4, 8), dtype=np.complex64)"), ["complex.npy", "float"]),
                (try box.npy("empty_batch.npy", "np.ones((0, 8), dtype=np.float32)"), ["empty_batch.npy", "batch"]),
                (box.path("missing.npy"), ["missing.npy"]),
            ]
            for c in cases {
                try box.fails(["ingest", "r", "--step", "30", c.file], mentioning: c.mentions)
            }
            #expect(try box.snapshot(["r", "m"]) == before)
        }
    }

    /// The same file in Fortran order is not an error, and counts the same as numpy.
    @Test func fortranOrderIsReadCorrectly() throws {
        try Sandbox.with { box in
            try box.ok(["create", "f", "--features", "8", "--components", "3"])
            let c = try box.npy("c.npy", "np.random.default_rng(2).standard_normal((11, 3, 8)).astype(np.float32)")
            let f = try box.npy("f.npy", "np.asfortranarray(np.load('c.npy'))")
            let isFortran = try Numpy.run("import sys, numpy as np\nprint(np.load(sys.argv[1]).flags.f_contiguous and not np.load(sys.argv[1]).flags.c_contiguous)", [f], in: box)
            #expect(String(decoding: isFortran, as: UTF8.self).hasPrefix("True"), "numpy should have written Fortran order")
            try box.ok(["ingest", "f", "--step", "1", f])
            try box.ok(["ingest", "f", "--step", "2", c])
            let counts = try Numpy.counts(of: [c], in: box)
            for (from, to) in [("start", "1"), ("1", "2")] {
                let window = try decode(DiffOutput.self, try box.db(["diff", "f", "--from", from, "--to", to, "--format", "json"]), keys: DiffOutput.keys)
                #expect(window.density.flattened == counts.map { Double($0) / 11 }, "window (\(from), \(to)]")
            }
        }
    }

    @Test func aFileThatIsNotSQLiteIsLeftUntouched() throws {
        try Sandbox.with { box in
            var generator = SystemRandomNumberGenerator()
            let bytes = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let path = try box.write(bytes, to: "random.bin")
            let npy = try box.npy("a.npy", "np.ones((4, 8), dtype=np.float32)")
            let listing = box.listing()
            for command in [["runs"], ["show", "r"], ["diff", "r", "--from", "start"], ["trend", "r", "--feature", "0"],
                            ["resume", "r"], ["resume", "r", "--discard-later"], ["create", "r", "--features", "8"],
                            ["ingest", "r", "--step", "1", npy], ["migrate"]] {
                let result = try box.density(command + ["--db", path])
                expectFailure(result, mentioning: ["random.bin", "not", "SQLite database"])
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes, "the foreign file was modified")
            #expect(box.listing() == listing, "files were added next to the foreign file")
        }
    }

    @Test func aDirectoryAsTheStoreIsRefused() throws {
        try Sandbox.with { box in
            let folder = box.path("folder.sqlite")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            let npy = try box.npy("a.npy", "np.ones((4, 8), dtype=np.float32)")
            for command in [["runs"], ["show", "r"], ["create", "r", "--features", "8"], ["ingest", "r", "--step", "1", npy],
                            ["migrate"], ["demo", "--features", "8", "--batch", "4", "--checkpoints", "4"]] {
                let result = try box.density(command + ["--db", folder])
                expectFailure(result, mentioning: ["folder.sqlite"])
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [])
            #expect(box.listing() == ["a.npy", "folder.sqlite"])
        }
    }

    @Test func queriesOnAMissingStoreSayHowToCreateOne() throws {
        try Sandbox.with { box in
            let missing = box.path("nothing.sqlite")
            for command in [["show", "r"], ["runs"], ["diff", "r", "--from", "start"], ["trend", "r", "--feature", "0"], ["resume", "r"]] {
                let result = try box.density(command + ["--db", missing])
                expectFailure(result, mentioning: ["nothing.sqlite", "density create"])
            }
            #expect(box.listing() == [], "a query created files: \(box.listing())")
        }
    }

    @Test func trendIndexesOutOfRange() throws {
        try Sandbox.with { box in
            let before = try Self.setUp(box)
            try box.fails(["trend", "r", "--feature", "8"], mentioning: ["feature 8", "0...7"])
            try box.fails(["trend", "r", "--feature", "100000"], mentioning: ["feature 100000", "0...7"])
            try box.fails(["trend", "r", "--feature", "-1"], mentioning: ["feature", "-1", "range"])
            try box.fails(["trend", "r", "--feature=-1"], mentioning: ["feature -1", "0...7"])
            try box.fails(["trend", "r", "--feature", "x"], mentioning: ["--feature", "x"])
            try box.fails(["trend", "r", "--feature", "0", "--component", "0"], mentioning: ["no components", "--component"])
            try box.fails(["trend", "m", "--feature", "0", "--component", "2"], mentioning: ["component 2", "0...1"])
            try box.fails(["trend", "m", "--feature", "8", "--component", "1"], mentioning: ["feature 8", "0...7"])
            try box.fails(["trend", "r"], mentioning: ["--feature"])
            #expect(try box.snapshot(["r", "m"]) == before)
        }
    }

    @Test func aRunWithNoCheckpointsSaysSo() throws {
        try Sandbox.with { box in
            try box.ok(["create", "new", "--features", "4"])
            try box.fails(["show", "new"], mentioning: ["'new'", "no checkpoints", "density ingest"])
            try box.fails(["diff", "new", "--from", "start"], mentioning: ["'new'", "no checkpoints"])
            try box.fails(["trend", "new", "--feature", "3", "--format", "json"], mentioning: ["'new'", "no checkpoints"])
        }
    }
}
