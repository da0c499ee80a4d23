@testable import DensityCLI
import DensityMetric
import DensityStore
import Foundation
import Testing

/// `density export` through the binary: every format and quantity read back by numpy or by a
/// Python reader with only `struct` and `json`, and compared with numpy's own counts; the file
/// appears only when complete, is never overwritten without --force, and progress shows only on a
/// terminal.
@Suite struct ExportCommandTests {
    /// `export --format json`.
    struct Exported: Decodable {
        var run: String
        var step: Int64?
        var from: Int64?
        var to: Int64?
        var vectors: Int64
        var what: String
        var shape: [Int]
        var values: [Double]
        static let stepKeys: Set = ["run", "step", "vectors", "what", "shape", "values"]
        static let windowKeys: Set = ["run", "from", "to", "vectors", "what", "shape", "values"]
    }

    /// Reads `.npy` files with numpy and `.safetensors` files with `struct` and `json` only
    /// (checking the layout rules), printing what each holds.
    static let reader = #"""
import json, struct, sys
import numpy as np

SIZES = {"F64": 8, "I64": 8}
CODES = {"F64": "d", "I64": "q"}
out = {}
for path in sys.argv[1:]:
    if path.endswith(".npy"):
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0(f)
        a = np.load(path)
        out[path] = dict(version=list(version), descr=a.dtype.str, fortran=bool(header[1]), shape=list(a.shape),
                         values=[float(x) for x in a.reshape(-1)])
        continue
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0, "header length %d is not a multiple of 8" % n
    text = blob[8:8 + n].decode("utf-8")
    assert len(text) - len(text.rstrip(" ")) < 8
    header = json.loads(text)
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in metadata.values())
    data = blob[8 + n:]
    end = 0
    tensors = []
    for name, info in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin, stop = info["data_offsets"]
        assert begin == end, "%s does not start where the previous tensor ends" % name
        count = 1
        for d in info["shape"]:
            count *= d
        assert stop - begin == count * SIZES[info["dtype"]]
        values = struct.unpack("<%d%s" % (count, CODES[info["dtype"]]), data[begin:stop])
        tensors.append(dict(name=name, dtype=info["dtype"], shape=info["shape"], values=[float(v) for v in values]))
        end = stop
    assert end == len(data), "trailing or missing data"
    out[path] = dict(metadata=metadata, tensors=tensors)
json.dump(out, sys.stdout)
"""#

    struct Npy: Decodable {
        var version: [Int]
        var descr: String
        var fortran: Bool
        var shape: [Int]
        var values: [Double]
    }

    struct Safetensors: Decodable {
        struct Tensor: Decodable, Equatable {
            var name: String
            var dtype: String
            var shape: [Int]
            var values: [Double]
        }
        var metadata: [String: String]
        var tensors: [Tensor]
    }

    /// One export of the matrix below.
    struct Case {
        var run: String
        var selection: [String]
        var from: Int64?
        var to: Int64
        var isWindow: Bool
        var what: String
        var format: String
        var path: String
        var components: Int?
        var features: Int
    }

    @Test func everyFormatMatchesNumpy() throws {
        try Sandbox.with { box in
            let flat = try box.recordRun("r", features: 16, steps: [10, 20, 30])
            let multi = try box.recordRun("m", features: 8, components: 2, steps: [10, 20], seed: 9)
            let selections: [(run: String, arguments: [String], from: Int64?, to: Int64, isWindow: Bool)] = [
                ("r", [], nil, 30, false), ("r", ["--step", "25"], nil, 20, false), ("r", ["--from", "10", "--to", "30"], 10, 30, true),
                ("r", ["--from", "start", "--to", "first"], nil, 10, true), ("r", ["--from", "-1"], 20, 30, true),
                ("m", ["--step", "first"], nil, 10, false), ("m", ["--from", "10"], 10, 20, true), ("m", [], nil, 20, false),
            ]
            var cases: [Case] = []
            for (index, s) in selections.enumerated() {
                for what in ["density", "counts"] {
                    for format in ["npy", "safetensors", "csv", "json"] {
                        let path = box.path("e\(index)-\(what).\(format)")
                        let c = Case(run: s.run, selection: s.arguments, from: s.from, to: s.to, isWindow: s.isWindow, what: what,
                                     format: format, path: path, components: s.run == "m" ? 2 : nil, features: s.run == "m" ? 8 : 16)
                        // --format is given for half of them, inferred from the name for the rest.
                        let formatArguments = index % 2 == 0 ? ["--format", format] : []
                        let result = try box.db(["export", s.run, "--out", path, "--what", what] + formatArguments + s.arguments)
                        try #require(result.status == 0, "\(result)")
                        #expect(result.stdout.isEmpty, "the data goes to the file: \(result)")
                        #expect(result.stderr.contains(path), "\(result)")
                        #expect(!result.stderr.contains("%") && !result.stderr.contains("\r"), "no progress when stderr is not a terminal: \(result)")
                        cases.append(c)
                    }
                }
            }
            let binary = cases.filter { $0.format == "npy" || $0.format == "safetensors" }.map(\.path)
            let read = try JSONSerialization.jsonObject(with: try Numpy.run(Self.reader, binary, in: box)) as? [String: Any] ?? [:]
            func decoded<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
                let object = try #require(read[path], "python did not read \(path)")
                return try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: object))
            }
            for c in cases {
                let expected = try (c.run == "r" ? flat : multi).diff(from: c.from, to: c.to)
                let densities = expected.output.density.flattened
                let counts = expected.counts
                let values = c.what == "density" ? densities : counts.map(Double.init)
                let shape = c.components.map { [$0, c.features] } ?? [c.features]
                let label = "\(c.run) \(c.selection) \(c.what) \(c.format)"
                switch c.format {
                case "npy":
                    let npy = try decoded(Npy.self, c.path)
                    #expect(npy.version == [1, 0] && !npy.fortran, "\(label)")
                    #expect(npy.descr == (c.what == "density" ? "<f8" : "<i8"), "\(label)")
                    #expect(npy.shape == shape, "\(label)")
                    #expect(npy.values == values, "\(label)")
                case "safetensors":
                    let file = try decoded(Safetensors.self, c.path)
                    let tensors: [Safetensors.Tensor] = c.what == "density"
                        ? [.init(name: "density", dtype: "F64", shape: shape, values: densities)]
                        : [.init(name: "neuron_fired_count", dtype: "I64", shape: shape, values: counts.map(Double.init)),
                           .init(name: "num_activation_vectors", dtype: "I64", shape: [], values: [Double(expected.output.vectors)])]
                    #expect(file.tensors == tensors, "\(label)")
                    var metadata = ["run": c.run, "vectors": String(expected.output.vectors), "fire_threshold": "0.0"]
                    if c.isWindow {
                        metadata["from"] = c.from.map(String.init) ?? "start"
                        metadata["to"] = String(c.to)
                    } else {
                        metadata["step"] = String(c.to)
                    }
                    #expect(file.metadata == metadata, "\(label)")
                case "csv":
                    let lines = try String(contentsOfFile: c.path, encoding: .utf8).split(separator: "\n")
                    #expect(lines.first == (c.components == nil ? "feature,count,density" : "component,feature,count,density"), "\(label)")
                    let rows = lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
                    #expect(rows.count == counts.count, "\(label)")
                    for (index, row) in rows.enumerated() {
                        let position = c.components == nil ? [String(index)] : [String(index / c.features), String(index % c.features)]
                        #expect(Array(row.prefix(position.count)) == position, "\(label) row \(index)")
                        #expect(Int64(row[position.count]) == counts[index], "\(label) row \(index)")
                        #expect(Double(row[position.count + 1]) == densities[index], "\(label) row \(index)")
                    }
                default:
                    let result = CommandResult(arguments: [c.path], status: 0, stdout: try String(contentsOfFile: c.path, encoding: .utf8), stderr: "")
                    #expect(result.stdout.hasSuffix("}\n"))
                    let json = try decode(Exported.self, result, keys: c.isWindow ? Exported.windowKeys : Exported.stepKeys)
                    #expect(json.run == c.run && json.what == c.what && json.shape == shape, "\(label)")
                    #expect(json.vectors == expected.output.vectors, "\(label)")
                    #expect(c.isWindow ? (json.from == c.from && json.to == c.to) : json.step == c.to, "\(label)")
                    #expect(json.values == values, "\(label)")
                }
            }
            #expect(box.listing().allSatisfy { !$0.hasPrefix(".") }, "temporary files were left: \(box.listing())")
        }
    }

    // MARK: - The file

    /// The files in the sandbox's folder, but for the -wal and -shm files a read-only open of the
    /// store may add.
    static func files(_ box: Sandbox) -> [String] {
        box.listing().filter { !$0.hasPrefix("store.sqlite-") }
    }

    @Test func anExistingFileIsReplacedOnlyWithForce() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 16, steps: [10, 20])
            let out = box.path("out.npy")
            try box.ok(["export", "r", "--out", out])
            let first = try Data(contentsOf: URL(fileURLWithPath: out))
            let listing = Self.files(box)
            let refused = try box.fails(["export", "r", "--out", out, "--what", "counts"], mentioning: ["out.npy", "exists", "--force"])
            #expect(!refused.stderr.contains("Usage"), "a clear one-line message: \(refused)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == first)
            #expect(Self.files(box) == listing)
            try box.ok(["export", "r", "--out", out, "--what", "counts", "--force"])
            let second = try Data(contentsOf: URL(fileURLWithPath: out))
            #expect(second != first && second.count == first.count)
            #expect(Self.files(box) == listing, "no temporary file is left: \(box.listing())")
        }
    }

    /// A write that fails halfway (the file size limit, with SIGXFSZ ignored so `write` returns
    /// EFBIG) leaves no file and no temporary file, and an existing file exactly as it was.
    @Test func aFailedExportLeavesNothingBehind() throws {
        try Sandbox.with { box in
            try box.ok(["demo", "--features", "20000", "--batch", "4", "--checkpoints", "4"])
            _ = try box.ok(["show", "demo"])  // the store's -shm exists, so the limited run only reads
            let binary = try DensityBinary.url().path
            let limited = { (arguments: [String]) throws -> CommandResult in
                try Subprocess.run(executable: URL(fileURLWithPath: "/bin/sh"),
                                   arguments: ["-c", "trap '' XFSZ; ulimit -f 128; exec \"$0\" \"$@\"", binary] + arguments + ["--db", box.db],
                                   cwd: box.work, environment: [:], io: box.root.appendingPathComponent("io"))
            }
            let listing = Self.files(box)
            for format in ["npy", "safetensors", "csv", "json"] {
                let result = try limited(["export", "demo", "--out", box.path("big.\(format)")])
                expectFailure(result, mentioning: ["big.\(format)", "cannot write"])
                #expect(Self.files(box) == listing, "a failed export left files: \(box.listing())")
            }
            let existing = try box.write(Data("keep me\n".utf8), to: "old.npy")
            let result = try limited(["export", "demo", "--out", existing, "--force"])
            expectFailure(result, mentioning: ["old.npy"])
            #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me\n")
            #expect(Self.files(box) == (listing + ["old.npy"]).sorted())
            // Without the limit the same export succeeds.
            try box.ok(["export", "demo", "--out", existing, "--force"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: existing)).count == 128 + 8 * 20000)
        }
    }

    @Test func badInputIsRefusedAndWritesNothing() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 8, steps: [10, 20])
            try box.ok(["create", "new", "--features", "4"])
            do {
                // A window (20, 30] with no vectors.
                let store = try DensityStore(path: box.db)
                try store.createRun(name: "flat", features: 4)
                let state = try DensityState(features: 4, components: nil, counts: [0, 1, 2, 3], vectors: 3)
                try store.appendCheckpoint(run: "flat", step: 20, state: state)
                try store.appendCheckpoint(run: "flat", step: 30, state: state)
            }
            try FileManager.default.createDirectory(atPath: box.path("folder"), withIntermediateDirectories: false)
            try box.write(Data("old".utf8), to: "exists.csv")
            let out = box.path("out.npy")
            let cases: [(arguments: [String], mentions: [String])] = [
                (["nope", "--out", out], ["'nope'"]),
                (["new", "--out", out], ["'new'", "no checkpoints"]),
                (["r", "--out", out, "--step", "abc"], ["--step", "abc"]),
                (["r", "--out", out, "--step", "start"], ["--step start"]),
                (["r", "--out", out, "--step", "5"], ["step 5"]),
                (["r", "--out", out, "--from", "latest", "--to", "first"], ["must be before"]),
                (["r", "--out", out, "--from", "20", "--to", "20"], ["must be before"]),
                (["r", "--out", out, "--to", "20"], ["--to needs --from"]),
                (["r", "--out", out, "--step", "10", "--to", "20"], ["--step", "--from"]),
                (["flat", "--out", out, "--from", "20", "--to", "30"], ["(20, 30]", "no activation vectors"]),
                (["r", "--out", box.path("missing/out.npy")], ["missing", "does not exist"]),
                (["r", "--out", box.path("folder"), "--format", "npy"], ["folder", "is a folder"]),
                (["r", "--out", box.path("folder") + "/", "--format", "csv"], ["folder", "is a folder"]),
                (["r", "--out", box.path("exists.csv")], ["exists.csv", "exists already", "--force"]),
                (["r", "--out", box.path("out.bin")], ["--format", "out.bin"]),
                (["r", "--out", box.path("noextension")], ["--format"]),
                (["r", "--out", out, "--format", "parquet"], ["--format", "parquet"]),
                (["r", "--out", out, "--what", "logits"], ["--what", "logits"]),
                (["r", "--out", ""], ["--out"]),
                (["r"], ["--out"]),
            ]
            let files = { Self.files(box) }
            let listing = files()
            for c in cases {
                try box.fails(["export"] + c.arguments, mentioning: c.mentions)
                #expect(files() == listing, "`export \(c.arguments)` left files: \(box.listing())")
            }
            #expect(try String(contentsOfFile: box.path("exists.csv"), encoding: .utf8) == "old")
            #expect(try FileManager.default.contentsOfDirectory(atPath: box.path("folder")) == [])
            let missing = try box.density(["export", "r", "--out", out, "--db", box.path("none.sqlite")])
            expectFailure(missing, mentioning: ["none.sqlite"])
            #expect(files() == listing)
        }
    }

    @Test func helpShowsExamples() throws {
        try Sandbox.with { box in
            let result = try box.density(["export", "--help"])
            #expect(result.status == 0 && result.stdout.contains("USAGE: density export"), "\(result)")
            let examples = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("density export ") }
            #expect(examples.count >= 2, "\(result.stdout)")
            for format in ["csv", "json", "npy", "safetensors", "--force"] { #expect(result.stdout.contains(format)) }
            #expect(box.listing() == [])
        }
    }

    // MARK: - Progress

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal"))
    func progressShowsOnlyOnATerminal() throws {
        try Sandbox.with { box in
            try box.ok(["demo", "--features", "5000", "--batch", "4", "--checkpoints", "4"])
            let binary = try DensityBinary.url().path
            for format in ["npy", "csv"] {
                let out = box.path("p.\(format)")
                // script(1) runs the command with a terminal as stdout and stderr and copies what it printed.
                let command = [binary, "export", "demo", "--out", out, "--db", box.db].map { "'\($0)'" }.joined(separator: " ")
                let result = try Subprocess.run(executable: URL(fileURLWithPath: "/usr/bin/script"),
                                                arguments: ["-qec", command, "/dev/null"], cwd: box.work, environment: [:],
                                                io: box.root.appendingPathComponent("io"))
                #expect(result.status == 0, "\(result)")
                #expect(result.stdout.contains("writing \(out)") && result.stdout.contains("100%"), "\(result)")
                #expect(FileManager.default.fileExists(atPath: out))
                let plain = try box.db(["export", "demo", "--out", out, "--force"])
                #expect(plain.status == 0 && !plain.stderr.contains("%") && !plain.stderr.contains("\r"), "\(plain)")
            }
        }
    }

    @Test func progressDrawsEachPercentOnceAndClearsTheLine() {
        var text = ""
        let progress = DensityCLI.Progress("writing x", total: 1000, isShown: true) { text += $0 }
        for _ in 0..<1000 { progress.advance(by: 1) }
        #expect(text.components(separatedBy: "\r").count - 1 == 101, "one redraw per percent, 0 to 100")
        #expect(text.hasPrefix("\r  writing x  0%\u{1B}[K\r  writing x  1%\u{1B}[K"))
        #expect(text.hasSuffix("\r  writing x  100%\u{1B}[K"))
        progress.finish()
        progress.finish()
        progress.advance(by: 5)
        #expect(text.hasSuffix("100%\u{1B}[K\r\u{1B}[K"), "finish clears the line once; nothing after it")

        var hidden = ""
        let quiet = DensityCLI.Progress("writing y", total: 10, isShown: false) { hidden += $0 }
        quiet.update(to: 5)
        quiet.finish()
        #expect(hidden.isEmpty && quiet.percent == 50)
        #expect(DensityCLI.Progress("empty", total: 0, isShown: false).percent == 100)
    }
}
