import DensityStore
import Foundation
import Testing

/// `density create`: settings that reach the store, and every refusal.
@Suite struct CreateCommandTests {
    @Test func createsARunWithEverySetting() throws {
        try Sandbox.with { box in
            let meta = #"{"l1": 0.001, "lr": 3e-4, "layer": "blocks.6", "tags": ["a", "b"]}"#
            let result = try box.db(["create", "wide", "--features", "300", "--components", "3", "--fire-threshold", "0.25",
                                     "--chunk-features", "64", "--meta", meta])
            try #require(result.status == 0, "\(result)")
            #expect(result.stdout.isEmpty, "create reports on stderr")
            #expect(result.stderr.contains("wide"))
            try box.ok(["create", "plain", "--features", "7"])

            let runs = try box.runs()
            #expect(runs == [
                "wide": RunRow(name: "wide", features: 300, components: 3, checkpoints: 0, latest_step: nil, vectors: 0,
                               fire_threshold: 0.25),
                "plain": RunRow(name: "plain", features: 7, components: nil, checkpoints: 0, latest_step: nil, vectors: 0),
            ])

            // Settings the CLI prints nowhere, read back through the store's public API.
            let store = try DensityStore(path: box.db, readOnly: true)
            let wide = try store.read { try $0.run(named: "wide") }
            #expect(wide.fireThreshold == 0.25)
            #expect(wide.chunkFeatures == 64)
            let stored = try #require(wide.metadata, "the --meta JSON was not stored")
            let original = try JSONSerialization.jsonObject(with: Data(meta.utf8)) as? NSDictionary
            let roundTripped = try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? NSDictionary
            #expect(roundTripped == original, "stored metadata \(stored) differs from \(meta)")
            let plain = try store.read { try $0.run(named: "plain") }
            #expect(plain.fireThreshold == 0 && plain.metadata == nil && plain.chunkFeatures == 8192)
        }
    }

    @Test func badMetaJSONIsRefusedAndChangesNothing() throws {
        try Sandbox.with { box in
            try box.ok(["create", "kept", "--features", "4"])
            let before = try box.snapshot(["kept"])
            try box.fails(["create", "new", "--features", "4", "--meta", "{\"l1\": 0.001"], mentioning: ["--meta", "JSON"])
            #expect(try box.snapshot(["kept"]) == before)
            #expect(try box.runs()["new"] == nil)
        }
    }

    /// A refused create must not leave an empty store behind where there was none.
    @Test func badMetaJSONCreatesNoStoreFile() throws {
        try Sandbox.with { box in
            try box.fails(["create", "new", "--features", "4", "--meta", "not json"], mentioning: ["--meta", "JSON"])
            #expect(box.listing() == [], "a refused create left files behind: \(box.listing())")
        }
    }

    @Test func duplicateNameIsRefusedAndKeepsTheFirstRun() throws {
        try Sandbox.with { box in
            try box.ok(["create", "r", "--features", "8", "--components", "2"])
            let before = try box.snapshot(["r"])
            try box.fails(["create", "r", "--features", "16"], mentioning: ["'r'", "exists"])
            #expect(try box.snapshot(["r"]) == before)
            #expect(try box.runs()["r"]?.features == 8)
        }
    }

    /// Each invalid setting exits non-zero, names the option and the problem on stderr, and
    /// creates no store.
    @Test(arguments: [
        (["--features", "0"], ["--features", "positive"]),
        (["--features", "-3"], ["--features", "positive"]),
        (["--features=-3"], ["--features", "positive"]),
        (["--features", "4", "--components", "0"], ["--components", "positive"]),
        (["--features", "4", "--components", "-2"], ["--components", "positive"]),
        (["--features", "4", "--chunk-features", "0"], ["--chunk-features", "positive"]),
        (["--features", "4", "--fire-threshold", "nan"], ["--fire-threshold", "finite"]),
        (["--features", "4", "--fire-threshold", "inf"], ["--fire-threshold", "finite"]),
        (["--features", "many"], ["--features", "many"]),
    ])
    func invalidSettingsAreRefused(_ options: [String], _ mentions: [String]) throws {
        try Sandbox.with { box in
            try box.fails(["create", "r"] + options, mentioning: mentions)
            #expect(box.listing() == [], "a refused create left files behind")
        }
    }

    /// A name a web address cannot carry as one path segment is refused before anything is
    /// created, with the reason and the fix; `demo --run` follows the same rule.
    @Test(arguments: [(".", "'.'"), ("..", "'..'"), ("a/b", "'/'"), ("line\nbreak", "control characters")])
    func unsafeRunNamesAreRefused(_ name: String, _ mention: String) throws {
        try Sandbox.with { box in
            let result = try box.fails(["create", name, "--features", "4"], mentioning: [mention, "choose another name"])
            #expect(result.status == 64, "a refused name is a usage error: \(result)")
            #expect(box.listing() == [], "a refused create left files behind")
            try box.fails(["demo", "--run", name, "--features", "8", "--checkpoints", "4"], mentioning: [mention])
            #expect(box.listing() == [], "a refused demo left files behind")
        }
    }

    /// Runs that an older version stored under such names (set here through SQL) stay readable:
    /// listed in JSON with their exact text, shown, and written to; only `create` refuses them.
    @Test func storedUnsafeNamesStayReadable() throws {
        try Sandbox.with { box in
            let names = ["..", ".", "a/b", "tab\tnew\nline", "esc\u{1B}[31m"]
            for index in names.indices { try box.recordRun("placeholder-\(index)", features: 4, steps: [5], batches: [6]) }
            let db = try Connection(path: box.db)
            for (index, name) in names.enumerated() {
                try db.execute("UPDATE runs SET name = ? WHERE name = ?", [.text(name), .text("placeholder-\(index)")])
            }
            let runs = try box.runs()
            #expect(Set(runs.keys) == Set(names))
            for name in names {
                #expect(runs[name] == RunRow(name: name, features: 4, components: nil, checkpoints: 1, latest_step: 5, vectors: 6))
                let shown = try decode(ShowOutput.self, try box.db(["show", name, "--format", "json"]), keys: ShowOutput.keys)
                #expect(shown.run == name && shown.step == 5)
                try box.ok(["ingest", name, "--step", "6", try box.npy("more.npy", "np.ones((2, 4), np.float32)")])
                try box.fails(["create", name, "--features", "4"], mentioning: ["choose another name"])
            }
            #expect(try box.runs().values.allSatisfy { $0.latest_step == 6 })
        }
    }

    /// A negative threshold is a finite number: it must be accepted in either spelling.
    @Test(arguments: [["--fire-threshold", "-0.5"], ["--fire-threshold=-0.5"]])
    func negativeFireThresholdIsAccepted(_ options: [String]) throws {
        try Sandbox.with { box in
            let result = try box.db(["create", "r", "--features", "4"] + options)
            #expect(result.status == 0, "\(result)")
            if result.status == 0 {
                #expect(try DensityStore(path: box.db, readOnly: true).read { try $0.run(named: "r") }.fireThreshold == -0.5)
            }
        }
    }
}
