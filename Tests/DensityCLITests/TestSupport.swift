// Test support for the end-to-end suites: the built `density` binary run as a subprocess, one
// temporary folder per test, numpy (python3) as the independent source of expected values, and
// Decodable shapes of the CLI's JSON outputs.
import Foundation
import Testing

// MARK: - The binary

/// Where the `density` executable is: SwiftPM builds it next to the test bundle.
enum DensityBinary {
    /// The folders searched, nearest first: the folder of the running test binary and its parents
    /// (on Linux `CommandLine.arguments[0]` is `.build/debug/<package>PackageTests.xctest`; on macOS
    /// it sits inside `<package>PackageTests.xctest/Contents/MacOS/`), then `Bundle.main`'s.
    static var searchedFolders: [URL] {
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()]
        if let executable = Bundle.main.executableURL { starts.append(executable) }
        starts.append(Bundle.main.bundleURL)
        var folders: [URL] = []
        for start in starts {
            var folder = start.deletingLastPathComponent()
            for _ in 0..<4 {
                if !folders.contains(folder) { folders.append(folder) }
                folder = folder.deletingLastPathComponent()
            }
        }
        return folders
    }

    /// The executable, or a failure that says where it was looked for.
    static func url() throws -> URL {
        for folder in searchedFolders {
            let candidate = folder.appendingPathComponent("density")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
        }
        let searched = searchedFolders.map(\.path).joined(separator: ", ")
        Issue.record("the `density` executable was not found next to the test bundle (looked in: \(searched)); build it first with `swift build --scratch-path <same path>`")
        throw MissingTool()
    }
}

/// Thrown after an issue that already explains what is missing.
struct MissingTool: Error {}

// MARK: - Running commands

/// What one run of a command printed, and how it exited.
struct CommandResult: CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String {
        "`density \(arguments.joined(separator: " "))` exited \(status)\n--- stdout:\n\(stdout)--- stderr:\n\(stderr)"
    }
}

/// A fresh folder for one test (a UUID name, so parallel tests never share a file), removed
/// afterwards. `work` is the folder commands run in and hold their files; captured output goes
/// to a sibling folder so `work` holds only what `density` and the test wrote.
struct Sandbox {
    let root: URL
    let work: URL
    /// The default store of a test: `--db` points here.
    var db: String { work.appendingPathComponent("store.sqlite").path }

    /// Runs `body` with a new sandbox, then deletes it.
    static func with<T>(_ body: (Sandbox) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("DensityCLITests-\(UUID().uuidString)", isDirectory: true)
        let sandbox = Sandbox(root: root, work: root.appendingPathComponent("work", isDirectory: true))
        try FileManager.default.createDirectory(at: sandbox.work, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("io"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        return try body(sandbox)
    }

    /// A path inside `work`.
    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// Runs `density` with `arguments` (no `--db` is added), in `cwd` (default `work`), with the
    /// test process's environment minus `DENSITY_DB`, plus `environment`.
    func density(_ arguments: [String], cwd: URL? = nil, environment: [String: String] = [:]) throws -> CommandResult {
        try Subprocess.run(executable: try DensityBinary.url(), arguments: arguments, cwd: cwd ?? work,
                           environment: environment, io: root.appendingPathComponent("io"))
    }

    /// Runs `density` with `--db` set to ``db`` (appended last, after the subcommand's arguments).
    func db(_ arguments: [String]) throws -> CommandResult {
        try density(arguments + ["--db", db])
    }

    /// Runs `density` with ``db`` and requires exit status 0; returns stdout.
    @discardableResult
    func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try db(arguments)
        try #require(result.status == 0, "expected success: \(result)", sourceLocation: sourceLocation)
        return result.stdout
    }

    /// Runs `density` with ``db``, expects a non-zero exit and an `Error:` line on stderr naming
    /// every one of `mentions` (case-insensitive), and nothing on stdout. Returns the result.
    @discardableResult
    func fails(_ arguments: [String], mentioning mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let result = try db(arguments)
        expectFailure(result, mentioning: mentions, sourceLocation: sourceLocation)
        return result
    }

    /// Writes raw bytes to `name` in `work`; returns the path.
    @discardableResult
    func write(_ data: Data, to name: String) throws -> String {
        let url = work.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    /// The names in `work`, sorted.
    func listing() -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: work.path).sorted() }
        catch { return ["<cannot list \(work.path): \(error)>"] }
    }
}

/// Checks that a command failed cleanly: non-zero status, an error on stderr that names each of
/// `mentions` (case-insensitive), and nothing on stdout.
func expectFailure(_ result: CommandResult, mentioning mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status != 0, "expected a failure: \(result)", sourceLocation: sourceLocation)
    #expect(result.stdout.isEmpty, "a failing command printed to stdout: \(result)", sourceLocation: sourceLocation)
    #expect(result.stderr.contains("Error"), "no error on stderr: \(result)", sourceLocation: sourceLocation)
    for mention in mentions {
        #expect(result.stderr.lowercased().contains(mention.lowercased()),
                "stderr should mention \"\(mention)\": \(result)", sourceLocation: sourceLocation)
    }
}

/// Runs executables with output captured through files (no pipe can fill up and block).
enum Subprocess {
    static func run(executable: URL, arguments: [String], cwd: URL, environment: [String: String],
                    io: URL) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = cwd
        var env = ProcessInfo.processInfo.environment
        env["DENSITY_DB"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let id = UUID().uuidString
        let outURL = io.appendingPathComponent("\(id).out"), errURL = io.appendingPathComponent("\(id).err")
        for url in [outURL, errURL] {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close(); try? err.close()
            try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL)
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return CommandResult(
            arguments: arguments, status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}

// MARK: - numpy

/// python3 with numpy, the independent reference for every expected count and density.
enum Numpy {
    /// The repository's `python/` folder, holding the training-loop helper.
    static let helperFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("python").path

    /// Writes a state file with the repository's Python helper: int64 counts of `shape`, the
    /// vector count, and a `step` tensor when given. Returns its path.
    @discardableResult
    static func writeState(_ name: String, counts: [Int64], shape: [Int], vectors: Int64, step: Int64? = nil,
                           in sandbox: Sandbox) throws -> String {
        let path = sandbox.path(name)
        let script = """
            import json, sys, numpy as np
            from feature_density_recorder import safetensors_bytes
            path, counts, shape, vectors, step = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
            tensors = {"neuron_fired_count": np.array(counts, dtype=np.int64).reshape(shape),
                       "num_activation_vectors": np.array(vectors, dtype=np.int64)}
            if step != "none":
                tensors["step"] = np.array(int(step), dtype=np.int64)
            open(path, "wb").write(safetensors_bytes(tensors))
            """
        _ = try run(script, [path, "\(counts)", "\(shape)", "\(vectors)", step.map(String.init) ?? "none"], in: sandbox)
        return path
    }

    /// Runs `script` with `python3 -c`, passing `arguments`; returns stdout. Fails with a clear
    /// message when python3 or numpy is missing or the script fails.
    ///
    /// The script can `import feature_density_recorder` (the repository's `python/` folder is on
    /// `PYTHONPATH`) and finds the built tool in `$DENSITY`.
    static func run(_ script: String, _ arguments: [String], in sandbox: Sandbox) throws -> Data {
        let env = URL(fileURLWithPath: "/usr/bin/env")
        let result: CommandResult
        do {
            let environment = ["PYTHONPATH": helperFolder, "DENSITY": try DensityBinary.url().path]
            result = try Subprocess.run(executable: env, arguments: ["python3", "-c", script] + arguments,
                                        cwd: sandbox.work, environment: environment, io: sandbox.root.appendingPathComponent("io"))
        } catch {
            Issue.record("cannot start python3 (\(error)); these tests need python3 with numpy on PATH")
            throw MissingTool()
        }
        if result.status != 0 {
            if result.status == 127 || result.stderr.contains("No module named 'numpy'") {
                Issue.record("these tests need python3 with numpy on PATH: \(result.stderr)")
            } else {
                Issue.record("the numpy script failed (status \(result.status)):\n\(result.stderr)")
            }
            throw MissingTool()
        }
        return Data(result.stdout.utf8)
    }

    /// Writes the activation files of `spec` with numpy and returns what numpy counts in them.
    static func generate(_ spec: GeneratorSpec, in sandbox: Sandbox) throws -> Expected {
        let specJSON = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        let data = try run(generator, [sandbox.work.path, specJSON], in: sandbox)
        return try JSONDecoder().decode(Expected.self, from: data)
    }

    /// Writes `.npy` files and prints, as JSON, the expected output of every query: fired means
    /// `a > threshold` (numpy compares in the array's dtype, like `torch.gt` with a Python scalar),
    /// counts are `(a > t).sum(axis=0)` summed over files and steps, densities `count / vectors`.
    static let generator = #"""
import json, os, sys
import numpy as np

out, spec = sys.argv[1], json.loads(sys.argv[2])
F, C, t = spec["features"], spec["components"], spec["threshold"]
rng = np.random.default_rng(spec["seed"])
inner = (F,) if C is None else (C, F)

def activations(batch, dtype):
    shape = (batch,) + inner
    a = rng.standard_normal(shape)
    a[rng.random(shape) < 0.3] = 0.0          # exact zeros never fire
    a[rng.random(shape) < 0.05] = t           # values at the threshold, rounded to the dtype below
    a = a.astype(np.dtype(dtype))
    return a

counts = np.zeros(inner, dtype=np.int64)
vectors = 0
non_finite = 0
checkpoints = []
cumulative = {}
for k, ck in enumerate(spec["checkpoints"]):
    paths = []
    for j, f in enumerate(ck["files"]):
        a = activations(f["batch"], f["dtype"])
        if spec["specials"] and k == 0 and j == 0:
            flat = a.reshape(a.shape[0], -1)
            dt = a.dtype
            special = [np.nan, np.inf, -np.inf, -0.0, np.finfo(dt).smallest_subnormal, -np.nan]
            for i, v in enumerate(special):
                if i < flat.shape[0] and i < flat.shape[1]:
                    flat[i, (7 * i) % flat.shape[1]] = v
        if f["order"] == "F":
            a = np.asfortranarray(a)
            assert a.ndim == 1 or not a.flags.c_contiguous
        path = os.path.join(out, "ck%d_%d_%s.npy" % (k, j, f["name"]))
        np.save(path, a)
        paths.append(path)
        counts = counts + (a > t).sum(axis=0)
        vectors += a.shape[0]
        non_finite += int((~np.isfinite(a)).sum())
    cumulative[ck["step"]] = (counts.copy(), vectors)
    width = counts.size
    show = dict(run=spec["run"], step=ck["step"], vectors=vectors, features=F, components=C,
                mean_density=int(counts.sum()) / (vectors * width),
                dead=int((counts == 0).sum()), dense=int((counts / vectors >= 1e-2).sum()),
                non_finite=non_finite)
    checkpoints.append(dict(step=ck["step"], files=paths, vectors=vectors, show=show))

steps = [ck["step"] for ck in spec["checkpoints"]]
diffs = []
for lo in [None] + steps:
    for hi in steps:
        if lo is not None and lo >= hi:
            continue
        c_hi, v_hi = cumulative[hi]
        c_lo, v_lo = cumulative[lo] if lo is not None else (np.zeros(inner, dtype=np.int64), 0)
        c, v = c_hi - c_lo, v_hi - v_lo
        diffs.append(dict(output=dict(run=spec["run"], **{"from": lo}, to=hi, vectors=v,
                                      density=(c / v).tolist()),
                          counts=c.reshape(-1).tolist()))

trends = []
for feature, component in spec["trends"]:
    points = []
    for s in steps:
        c, v = cumulative[s]
        n = int(c[feature] if C is None else c[component, feature])
        points.append(dict(step=s, vectors=v, count=n, density=n / v))
    trends.append(dict(run=spec["run"], feature=feature, component=component, points=points))

json.dump(dict(checkpoints=checkpoints, diffs=diffs, trends=trends), sys.stdout)
"""#
}

/// What the numpy generator writes: a run's width and threshold, and per checkpoint the files.
struct GeneratorSpec: Encodable {
    struct File: Encodable {
        var batch: Int
        /// A numpy dtype string: `<f2`, `<f4`, `<f8`, `>f4` …
        var dtype: String
        /// `C` or `F` (Fortran).
        var order: String = "C"
        var name: String { "\(dtype.dropFirst())\(order)" }
        enum CodingKeys: String, CodingKey { case batch, dtype, order, name }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(batch, forKey: .batch); try c.encode(dtype, forKey: .dtype)
            try c.encode(order, forKey: .order); try c.encode(name, forKey: .name)
        }
    }
    struct Checkpoint: Encodable {
        var step: Int64
        var files: [File]
    }
    var run: String
    var features: Int
    var components: Int?
    var threshold: Double = 0
    var seed: Int = 1
    /// Puts NaN, +inf, -inf, -0, the smallest subnormal and -NaN into the first file.
    var specials = true
    var checkpoints: [Checkpoint]
    /// (feature, component) pairs to compute trends for; component is ignored without components.
    var trends: [[Int]] = []

    enum CodingKeys: String, CodingKey { case run, features, components, threshold, seed, specials, checkpoints, trends }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(run, forKey: .run); try c.encode(features, forKey: .features)
        try c.encode(components, forKey: .components)  // null, not absent
        try c.encode(threshold, forKey: .threshold); try c.encode(seed, forKey: .seed)
        try c.encode(specials, forKey: .specials); try c.encode(checkpoints, forKey: .checkpoints)
        try c.encode(trends, forKey: .trends)
    }
}

/// The generator's answer.
struct Expected: Decodable {
    struct Checkpoint: Decodable {
        var step: Int64
        var files: [String]
        var vectors: Int64
        var show: ShowOutput
    }
    struct Diff: Decodable {
        var output: DiffOutput
        /// The window's counts, flattened component-major.
        var counts: [Int64]
    }
    var checkpoints: [Checkpoint]
    var diffs: [Diff]
    var trends: [TrendOutput]

    /// The window (from, to]; `from` nil for start.
    func diff(from: Int64?, to: Int64, sourceLocation: SourceLocation = #_sourceLocation) throws -> Diff {
        try #require(diffs.first { $0.output.from == from && $0.output.to == to },
                     "numpy computed no window (\(from.map(String.init) ?? "start"), \(to)]", sourceLocation: sourceLocation)
    }

    /// The checkpoint at `step`.
    func checkpoint(_ step: Int64, sourceLocation: SourceLocation = #_sourceLocation) throws -> Checkpoint {
        try #require(checkpoints.first { $0.step == step }, "no checkpoint at \(step)", sourceLocation: sourceLocation)
    }
}

// MARK: - The CLI's JSON

/// `show --format json`.
struct ShowOutput: Codable, Equatable {
    var run: String
    var step: Int64
    var vectors: Int64
    var features: Int
    var components: Int?
    var mean_density: Double
    var dead: Int
    var dense: Int
    var non_finite: Int64
    static let keys: Set = ["run", "step", "vectors", "features", "components", "mean_density", "dead", "dense", "non_finite",
                            "approximate", "world_size", "pending_steps"]
}

/// `diff --format json`: density is `[F]`, or `[C][F]` for runs with components.
struct DiffOutput: Decodable, Equatable {
    enum Density: Decodable, Equatable {
        case flat([Double])
        case nested([[Double]])
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let nested = try? container.decode([[Double]].self) {
                self = .nested(nested)
            } else {
                self = .flat(try container.decode([Double].self))
            }
        }
        var flattened: [Double] {
            switch self {
            case .flat(let values): values
            case .nested(let rows): rows.flatMap { $0 }
            }
        }
    }
    var run: String
    var from: Int64?
    var to: Int64
    var vectors: Int64
    var density: Density
    static let keys: Set = ["run", "from", "to", "vectors", "density", "previous"]
}

/// `trend --format json`.
struct TrendOutput: Decodable, Equatable {
    struct Point: Decodable, Equatable {
        var step: Int64
        var vectors: Int64
        var count: Int64
        var density: Double
    }
    var run: String
    var feature: Int
    var component: Int?
    var points: [Point]
    static let keys: Set = ["run", "feature", "component", "points"]
}

/// One entry of `runs --format json`.
struct RunRow: Decodable, Equatable, Hashable {
    var name: String
    var features: Int
    var components: Int?
    var checkpoints: Int
    var latest_step: Int64?
    var vectors: Int64
    var world_size: Int = 1
    var pending_steps: Int = 0
    var fire_threshold: Double = 0
    static let keys: Set = ["name", "features", "components", "checkpoints", "latest_step", "vectors", "world_size", "pending_steps",
                            "fire_threshold", "run", "store", "meta", "dead", "dense", "mean_log10_density", "created_at",
                            "latest_checkpoint_at", "rate", "trail", "mirror"]
}

/// Decodes a command's stdout as `T`, after checking that every object at the top (or each
/// element, for an array) has exactly `keys`.
func decode<T: Decodable>(_ type: T.Type, _ result: CommandResult, keys: Set<String>,
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
    try #require(result.status == 0, "expected success: \(result)", sourceLocation: sourceLocation)
    let data = Data(result.stdout.utf8)
    let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    let objects = (object as? [Any]) ?? [object]
    for item in objects {
        let dictionary = try #require(item as? [String: Any], "not a JSON object: \(result.stdout)", sourceLocation: sourceLocation)
        #expect(Set(dictionary.keys) == keys, "JSON keys of `density \(result.arguments.joined(separator: " "))`", sourceLocation: sourceLocation)
    }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch {
        Issue.record("cannot decode \(T.self) from stdout (\(error)): \(result)", sourceLocation: sourceLocation)
        throw error
    }
}

extension Sandbox {
    /// `runs --format json`, decoded and keyed by name.
    func runs(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: RunRow] {
        let rows = try decode([RunRow].self, try db(["runs", "--format", "json"]), keys: RunRow.keys, sourceLocation: sourceLocation)
        return Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The raw stdout of `runs --format json` and `show --format json` of each of `runs`, to
    /// prove a refused command changed nothing.
    func snapshot(_ runs: [String]) throws -> [String] {
        try [try db(["runs", "--format", "json"])].map(\.stdout)
            + runs.map { try db(["show", $0, "--format", "json"]).stdout }
    }
}

// MARK: - A recorded run

extension Sandbox {
    /// Creates run `name` (float32 activations from numpy, one file per checkpoint with `batches`
    /// vectors) and ingests a checkpoint at each of `steps`; returns numpy's expectations.
    @discardableResult
    func recordRun(_ name: String, features: Int = 16, components: Int? = nil, steps: [Int64],
                   batches: [Int]? = nil, seed: Int = 3, sourceLocation: SourceLocation = #_sourceLocation) throws -> Expected {
        let batches = batches ?? steps.indices.map { 5 + 7 * $0 }
        let spec = GeneratorSpec(
            run: name, features: features, components: components, seed: seed,
            checkpoints: zip(steps, batches).map { .init(step: $0, files: [.init(batch: $1, dtype: "<f4")]) },
            trends: [])
        let expected = try Numpy.generate(spec, in: self)
        var create = ["create", name, "--features", String(features)]
        if let components { create += ["--components", String(components)] }
        try ok(create, sourceLocation: sourceLocation)
        for checkpoint in expected.checkpoints {
            try ok(["ingest", name, "--step", String(checkpoint.step)] + checkpoint.files, sourceLocation: sourceLocation)
        }
        return expected
    }

    /// Writes one `.npy` file with numpy: `expression` builds `a` (numpy is `np`); returns the path.
    @discardableResult
    func npy(_ name: String, _ expression: String) throws -> String {
        let path = self.path(name)
        _ = try Numpy.run("import sys\nimport numpy as np\na = \(expression)\nnp.save(sys.argv[1], a)\n", [path], in: self)
        return path
    }
}

extension Numpy {
    /// `sum over files of (a > threshold).sum(axis=0)`, flattened, as numpy computes it.
    static func counts(of files: [String], threshold: Double = 0, in sandbox: Sandbox) throws -> [Int64] {
        let script = """
            import json, sys
            import numpy as np
            t = float(sys.argv[1])
            total = sum((np.load(p) > t).sum(axis=0).astype(np.int64) for p in sys.argv[2:])
            print(json.dumps(np.asarray(total).reshape(-1).tolist()))
            """
        return try JSONDecoder().decode([Int64].self, from: run(script, [String(threshold)] + files, in: sandbox))
    }
}
