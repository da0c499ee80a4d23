import DensityMetric
import DensityStore
import Foundation
import Testing

/// Every read command about one run takes several stores (`--db` repeated, or a quoted glob) and
/// reads the run from the store holding it: the same answer as with that store alone, a name two
/// stores hold refused unless spelled `name@store`, an unreadable store reported and skipped.
@Suite struct SeveralStoresReadTests {
    /// Each read command, as arguments around the run's name (`RUN`), printing to stdout.
    static let commands: [[String]] = [
        ["show", "RUN", "--format", "json"],
        ["show", "RUN", "--step", "20"],
        ["trend", "RUN", "--feature", "2", "--format", "json"],
        ["dead", "RUN", "--format", "json"],
        ["dead", "RUN", "--window", "20:40"],
        ["dense", "RUN", "--format", "json"],
        ["histogram", "RUN", "--format", "json"],
        ["histogram", "RUN", "--over-training", "--format", "json"],
        ["diff", "RUN", "--from", "10", "--format", "json"],
        ["export", "RUN", "--what", "counts", "--format", "json"],
        ["summaries", "RUN", "--format", "json"],
        ["history", "RUN", "--features", "0,3,5", "--format", "json"],
        ["watch", "RUN", "--once", "--top", "2"],
    ]

    /// `arguments` with `RUN` replaced by `run`, then `--db` for each of `stores`.
    static func command(_ arguments: [String], run: String, stores: [String]) -> [String] {
        arguments.map { $0 == "RUN" ? run : $0 } + stores.flatMap { ["--db", $0] }
    }

    /// Two stores: `store.sqlite` holds `alone` and `shared`, `other.sqlite` another `shared`;
    /// plus a file that is no store. Returns the three paths.
    static func setUp(_ box: Sandbox) throws -> (first: String, second: String, garbage: String) {
        try box.recordIncrements("alone", features: 6, steps: [10, 20, 30, 40], vectors: [100, 100, 100, 100],
                                 increments: [[0, 7, 50, 0, 0, 1], [0, 0, 50, 9, 0, 1], [0, 0, 50, 0, 4, 1], [0, 0, 50, 10, 0, 1]])
        try box.recordIncrements("shared", features: 6, steps: [10, 20, 40], vectors: [10, 10, 10],
                                 increments: [[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0]])
        let second = box.path("other.sqlite")
        let other = try DensityStore(path: second)
        try other.createRun(name: "shared", features: 6, chunkFeatures: 4, keyframeInterval: 2)
        var counts: [Int64] = [0, 0, 0, 0, 0, 0], vectors: Int64 = 0
        for (step, increment) in zip([10, 20, 40] as [Int64], [[3, 0, 9, 0, 0, 0], [0, 5, 9, 0, 0, 1], [0, 0, 9, 0, 7, 0]] as [[Int64]]) {
            vectors += 20
            for i in counts.indices { counts[i] += increment[i] }
            try other.appendCheckpoint(run: "shared", step: step, state: DensityState(features: 6, components: nil, counts: counts, vectors: vectors))
        }
        let garbage = try box.write(Data("not a store".utf8), to: "garbage.sqlite")
        return (box.db, second, garbage)
    }

    @Test func everyReadCommandFindsItsRunAmongSeveralStores() throws {
        try Sandbox.with { box in
            let (first, second, garbage) = try Self.setUp(box)
            for arguments in Self.commands {
                let alone = try box.density(Self.command(arguments, run: "alone", stores: [first]))
                #expect(alone.status == 0 && !alone.stdout.isEmpty, "\(arguments): \(alone)")
                // a run one store holds: the same answer as from that store alone; the unreadable store is named and skipped
                let among = try box.density(Self.command(arguments, run: "alone", stores: [garbage, second, first]))
                #expect(among.status == 0, "\(arguments): \(among)")
                #expect(Self.comparable(among.stdout) == Self.comparable(alone.stdout), "\(arguments)")
                #expect(among.stderr.contains("skipped the store") && among.stderr.contains("garbage.sqlite"), "\(arguments): \(among)")
                // a quoted glob names the same stores
                let globbed = try box.density(Self.command(arguments, run: "alone", stores: [box.path("*.sqlite")]))
                #expect(Self.comparable(globbed.stdout) == Self.comparable(alone.stdout), "\(arguments): \(globbed)")
                // a name two stores hold: refused, with the spellings that pick one
                let clash = try box.density(Self.command(arguments, run: "shared", stores: [first, second]))
                expectFailure(clash, mentioning: ["'shared@store.sqlite'", "'shared@other.sqlite'"])
                #expect(clash.stdout.isEmpty, "\(arguments): \(clash)")
                // name@store reads that store's run: the answer of that store alone, under the name given
                let picked = try box.density(Self.command(arguments, run: "shared@other.sqlite", stores: [first, second]))
                let fromItsStore = try box.density(Self.command(arguments, run: "shared", stores: [second]))
                #expect(picked.status == 0 && fromItsStore.status == 0, "\(arguments): \(picked)")
                #expect(Self.comparable(picked.stdout.replacingOccurrences(of: "shared@other.sqlite", with: "shared")) == Self.comparable(fromItsStore.stdout), "\(arguments)")
                // and the other store's run differs, so the test tells the stores apart
                let otherOne = try box.density(Self.command(arguments, run: "shared@store.sqlite", stores: [first, second]))
                #expect(Self.comparable(otherOne.stdout.replacingOccurrences(of: "shared@store.sqlite", with: "shared")) != Self.comparable(fromItsStore.stdout), "\(arguments)")
                // a run no store holds
                expectFailure(try box.density(Self.command(arguments, run: "missing", stores: [first, second])),
                              mentioning: ["no run 'missing'", "2 stores"])
            }
        }
    }

    @Test func filesWrittenFromARunAmongSeveralStoresAreThoseOfItsStore() throws {
        try Sandbox.with { box in
            let (first, second, _) = try Self.setUp(box)
            // state: the same file as from the store alone
            #expect(try box.density(["state", "shared@other.sqlite", "--out", box.path("picked.safetensors"), "--db", first, "--db", second]).status == 0)
            #expect(try box.density(["state", "shared", "--out", box.path("alone.safetensors"), "--db", second]).status == 0)
            let picked = try Self.safetensors(box.path("picked.safetensors"))
            let alone = try Self.safetensors(box.path("alone.safetensors"))
            #expect(picked.tensors.count == 40 && picked.tensors == alone.tensors)  // 6 float32 counts, vectors, step
            #expect(picked.header.replacingOccurrences(of: "shared@other.sqlite", with: "shared") == alone.header)
            // report: the commands it shows read the store holding the run
            #expect(try box.density(["report", "shared@other.sqlite", "--out", box.path("report.html"), "--db", first, "--db", second]).status == 0)
            let html = try String(contentsOfFile: box.path("report.html"), encoding: .utf8)
            #expect(html.contains(second) && !html.contains(first), "the report's commands name the store holding the run")
            // the commands that write or check one store still take one
            expectFailure(try box.density(["verify", "--db", first, "--db", second]), mentioning: ["--db is given 2 times"])
        }
    }

    /// `text` without the lines that say how long ago a checkpoint landed (watch's clock moves between runs).
    static func comparable(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains(" ago") }.joined(separator: "\n")
    }

    /// A safetensors file's JSON header (without its padding) and the tensor bytes after it.
    static func safetensors(_ path: String) throws -> (header: String, tensors: Data) {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = try #require(String(data: bytes.dropFirst(8).prefix(length), encoding: .utf8)).trimmingCharacters(in: .whitespaces)
        return (header, Data(bytes.dropFirst(8 + length)))
    }
}
