import DensityMetric
import Foundation
import Synchronization
import Testing
@testable import DensityStore

/// Runs and checkpoints: exact round trips, the chunk layout on disk, and every refused write
/// (which must leave the store as it was).
@Suite struct DensityStoreTests {
    /// A run's width and chunking.
    struct Layout: Sendable, CustomTestStringConvertible {
        let features: Int
        let components: Int?
        let chunkFeatures: Int
        var testDescription: String { "F=\(features) C=\(components.map(String.init) ?? "none") chunk=\(chunkFeatures)" }
    }

    static let layouts: [Layout] = [
        Layout(features: 10, components: nil, chunkFeatures: 3),     // last chunk partial
        Layout(features: 10, components: nil, chunkFeatures: 1),     // one feature per chunk
        Layout(features: 10, components: nil, chunkFeatures: 64),    // one chunk, wider than the run
        Layout(features: 10, components: nil, chunkFeatures: 10),    // exactly one chunk
        Layout(features: 1, components: nil, chunkFeatures: 1),
        Layout(features: 7, components: 3, chunkFeatures: 2),
        Layout(features: 5, components: 1, chunkFeatures: 5),
        Layout(features: 4097, components: 2, chunkFeatures: 4096),  // the default chunk size, plus one
    ]

    /// Every (step, state) the store holds for a run, read back through the public API.
    private func storedStates(_ store: DensityStore, _ run: String) throws -> [Int64: DensityState] {
        var result: [Int64: DensityState] = [:]
        for checkpoint in try store.read { try $0.checkpoints(run: run) } {
            let read = try #require(try store.read { try $0.state(run: run, at: .exact(checkpoint.step)) })
            #expect(read.checkpoint == checkpoint)
            result[checkpoint.step] = read.state
        }
        return result
    }

    // MARK: - Round trips

    @Test(arguments: layouts)
    func checkpointsRoundTripExactly(layout: Layout) throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            let run = try store.createRun(name: "run", features: layout.features, components: layout.components,
                                          fireThreshold: 1e-3, chunkFeatures: layout.chunkFeatures)
            #expect(run.features == layout.features && run.components == layout.components)
            #expect(run.chunkFeatures == layout.chunkFeatures && run.fireThreshold == 1e-3)
            var rng = SplitMix64(seed: UInt64(layout.features * 7 + layout.chunkFeatures))
            let states = try randomCumulativeStates(features: layout.features, components: layout.components,
                                                    count: 4, using: &rng)
            let steps: [Int64] = [0, 10, 25, 1_000_000_000_000]
            for (step, state) in zip(steps, states) {
                let checkpoint = try store.appendCheckpoint(run: "run", step: step, state: state)
                #expect(checkpoint.step == step)
                #expect(checkpoint.vectors == state.vectors && checkpoint.nonFinite == state.nonFinite)
            }
            // Read back through the API: exact states, in order.
            let checkpoints = try store.read { try $0.checkpoints(run: "run") }
            #expect(checkpoints.map(\.step) == steps)
            #expect(checkpoints.map(\.vectors) == states.map(\.vectors))
            #expect(checkpoints.map(\.nonFinite) == states.map(\.nonFinite))
            #expect(checkpoints.map(\.id) == checkpoints.map(\.id).sorted())
            #expect(try storedStates(store, "run") == Dictionary(uniqueKeysWithValues: zip(steps, states)))
            #expect(try store.read { try $0.state(run: "run") }.state == states.last)
            #expect(try store.read { try $0.state(run: "run", at: .exact(24)) }.state == states[1])

            // Reopened, read-only: the same.
            let reader = try DensityStore(path: path, readOnly: true)
            #expect(try storedStates(reader, "run") == Dictionary(uniqueKeysWithValues: zip(steps, states)))

            // On disk: one blob per (component, chunk) with a zlib CRC-32; the first checkpoint is a
            // keyframe (encoding 2), the others deltas against their predecessor (encoding 3), each
            // decoding onto the previous counts to exactly the state.
            let db = try Connection(path: path, mode: .readOnly)
            let chunksPerComponent = (layout.features + layout.chunkFeatures - 1) / layout.chunkFeatures
            let zstd = Zstd()
            var previous: [Int64]?
            for (index, (checkpoint, state)) in zip(checkpoints, states).enumerated() {
                #expect(checkpoint.deltaDepth == index)
                let rows = try db.query(
                    "SELECT component, chunk, encoding, checksum, data FROM chunks WHERE checkpoint_id = ? ORDER BY component, chunk",
                    [.integer(checkpoint.id)]) { (component: $0.int(0), chunk: $0.int(1), encoding: $0.int64(2),
                                                  checksum: $0.int64(3), data: $0.data(4)) }
                #expect(rows.count == (layout.components ?? 1) * chunksPerComponent)
                var rebuilt = previous ?? [Int64](repeating: -1, count: state.counts.count)
                for row in rows {
                    let start = row.component * layout.features + row.chunk * layout.chunkFeatures
                    let end = min(start + layout.chunkFeatures, (row.component + 1) * layout.features)
                    #expect(row.encoding == (index == 0 ? 2 : 4))
                    #expect(row.checksum == Int64(bitwiseCRC32(row.data)))
                    try row.data.withUnsafeBytes { blob in
                        try rebuilt.withUnsafeMutableBufferPointer { all in
                            try ChunkCodec.decode(encoding: row.encoding, blob: blob, checksum: row.checksum,
                                                  into: UnsafeMutableBufferPointer(rebasing: all[start..<end]), zstd: zstd)
                        }
                    }
                }
                #expect(rebuilt == state.counts)
                previous = rebuilt
            }
        }
    }

    @Test func runsListsSummariesByName() throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "b", features: 3, components: 2, fireThreshold: -0.5, chunkFeatures: 2,
                                metadata: #"{"l1": 0.001}"#)
            try store.createRun(name: "a", features: 4)
            try store.createRun(name: "c", features: 1)
            var rng = SplitMix64(seed: 5)
            let states = try randomCumulativeStates(features: 3, components: 2, count: 3, using: &rng)
            for (i, state) in states.enumerated() {
                try store.appendCheckpoint(run: "b", step: Int64(100 * (i + 1)), state: state)
            }
            try store.appendCheckpoint(run: "c", step: 7, state: try DensityState(
                features: 1, components: nil, counts: [2], vectors: 3))
            let summaries = try store.read { try $0.runs() }
            #expect(summaries.map(\.run.name) == ["a", "b", "c"])
            #expect(summaries.map(\.checkpointCount) == [0, 3, 1])
            #expect(summaries.map { $0.latest?.step } == [nil, 300, 7])
            #expect(summaries[1].latest?.vectors == states[2].vectors)
            let b = summaries[1].run
            #expect(b.features == 3 && b.components == 2 && b.fireThreshold == -0.5 && b.chunkFeatures == 2)
            #expect(b.metadata == #"{"l1": 0.001}"#)
            #expect(summaries[0].run.components == nil && summaries[0].run.chunkFeatures == 8192)
            #expect(summaries[0].run.metadata == nil)
            #expect(try store.read { try $0.run(named: "b") } == b)
        }
    }

    @Test func inMemoryStoreWorks() throws {
        let store = try DensityStore(path: ":memory:")
        try store.createRun(name: "m", features: 2)
        let state = try DensityState(features: 2, components: nil, counts: [1, 2], vectors: 2)
        try store.appendCheckpoint(run: "m", step: 1, state: state)
        #expect(try store.read { try $0.state(run: "m") }.state == state)
    }

    @Test func readerSeesWritesAndCannotWrite() throws {
        try withTemporaryPath { path in
            let writer = try DensityStore(path: path)
            try writer.createRun(name: "r", features: 2)
            let reader = try DensityStore(path: path, readOnly: true)
            #expect(reader.isReadOnly && !writer.isReadOnly)
            let state = try DensityState(features: 2, components: nil, counts: [1, 0], vectors: 1)
            try writer.appendCheckpoint(run: "r", step: 1, state: state)
            #expect(try reader.read { try $0.state(run: "r") }.state == state)  // committed writes are visible
            for write in [{ try reader.createRun(name: "other", features: 1) }, { try reader.appendCheckpoint(run: "r", step: 2, state: state) }]
                as [() throws -> Void] {
                let error = #expect(throws: StoreError.self) { try write() }
                guard case .storageFailed(_, .readOnly, _) = error else { Issue.record("\(String(describing: error))"); continue }
            }
            #expect(try writer.read { try $0.runs() }.map(\.run.name) == ["r"])
            #expect(try writer.read { try $0.checkpoints(run: "r") }.map(\.step) == [1])
        }
    }

    /// Two connections (as two processes would have) and two threads each, appending to their own
    /// runs at once: writes wait for the lock (busy timeout) instead of failing, and none is lost.
    @Test func concurrentWritersLoseNothing() throws {
        try withTemporaryPath { path in
            let stores = [try DensityStore(path: path), try DensityStore(path: path)]
            let names = ["w0", "w1", "w2", "w3"]
            for name in names { try stores[0].createRun(name: name, features: 3, chunkFeatures: 2) }
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: names.count) { i in
                do {
                    for step in 1...15 {
                        let n = Int64(step)
                        let state = try DensityState(features: 3, components: nil, counts: [n, 0, n * Int64(i) / 3], vectors: n)
                        try stores[i % 2].appendCheckpoint(run: names[i], step: n * 10, state: state)
                    }
                } catch {
                    failures.withLock { $0.append("\(names[i]): \(error)") }
                }
            }
            #expect(failures.withLock { $0 } == [])
            for (i, name) in names.enumerated() {
                #expect(try stores[1 - i % 2].read { try $0.checkpoints(run: name) }.map(\.step) == (1...15).map { Int64($0 * 10) })
                #expect(try stores[0].read { try $0.state(run: name) }.state.counts == [15, 0, 15 * Int64(i) / 3])
            }
        }
    }

    // MARK: - Run names and settings

    static let awkwardNames = [
        "it's \"quoted\"",
        "Robert'); DROP TABLE runs;--",
        "x' OR '1'='1",
        "-- comment ; SELECT 1;",
        "100% _like_ \\escape\\",
        "名前 🚀 naïve Ωmega",
        "caf\u{E9}",          // é precomposed (NFC)
        "cafe\u{301}",        // e + combining acute (NFD): canonically equal in Swift, other bytes
        "  spaces  ",
        "NULL",
    ]

    @Test func awkwardRunNamesRoundTripExactly() throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            for (i, name) in Self.awkwardNames.enumerated() {
                let run = try store.createRun(name: name, features: i + 1)
                #expect(Array(run.name.utf8) == Array(name.utf8))
            }
            // Each name finds its own run (by exact bytes), with its own width.
            for (i, name) in Self.awkwardNames.enumerated() {
                let run = try store.read { try $0.run(named: name) }
                #expect(Array(run.name.utf8) == Array(name.utf8), "\(name.debugDescription)")
                #expect(run.features == i + 1, "\(name.debugDescription)")
                let state = try DensityState(features: i + 1)
                try store.appendCheckpoint(run: name, step: 1, state: state)
                #expect(try store.read { try $0.checkpoints(run: name) }.count == 1)
            }
            let listed = try store.read { try $0.runs() }.map { Array($0.run.name.utf8) }
            #expect(Set(listed) == Set(Self.awkwardNames.map { Array($0.utf8) }))
            #expect(listed.count == Self.awkwardNames.count)
            // The tables are all still there.
            let db = try Connection(path: path, mode: .readOnly)
            #expect(try db.queryFirst("SELECT count(*) FROM runs") { $0.int(0) } == Self.awkwardNames.count)
        }
    }

    @Test(arguments: ["nul\u{0}inside", "\u{0}abc", "\u{0}"])
    func runNamesWithNULAreRefused(name: String) throws {
        let store = try DensityStore(path: ":memory:")
        let error = #expect(throws: StoreError.self) { try store.createRun(name: name, features: 1) }
        guard case .invalidRunSetting(let text) = try #require(error) else {
            Issue.record("expected invalidRunSetting, got \(String(describing: error))")
            return
        }
        #expect(text.contains("NUL"))
        #expect(try store.read { try $0.runs() }.isEmpty)
    }

    @Test func runNameLengthLimits() throws {
        let store = try DensityStore(path: ":memory:")
        try store.createRun(name: String(repeating: "é", count: 256), features: 1)
        try store.createRun(name: String(repeating: "🚀", count: 256), features: 1)
        for name in ["", String(repeating: "a", count: 257), String(repeating: "e\u{301}", count: 256)] {
            let error = #expect(throws: StoreError.self) { try store.createRun(name: name, features: 1) }
            guard case .invalidRunSetting(let text) = try #require(error) else {
                Issue.record("expected invalidRunSetting, got \(String(describing: error))")
                continue
            }
            #expect(text.contains("256"))
        }
        #expect(try store.read { try $0.runs() }.count == 2)
    }

    @Test func duplicateRunNameIsRefused() throws {
        let store = try DensityStore(path: ":memory:")
        let first = try store.createRun(name: "dup", features: 3, fireThreshold: 0.5)
        #expect(throws: StoreError.duplicateRun(name: "dup")) {
            try store.createRun(name: "dup", features: 9, components: 2)
        }
        #expect(try store.read { try $0.run(named: "dup") } == first)
        #expect(try store.read { try $0.runs() }.count == 1)
        // Names are case-sensitive: another case is another run.
        try store.createRun(name: "DUP", features: 1)
        #expect(try store.read { try $0.runs() }.count == 2)
    }

    @Test(arguments: ["{not json", "", "{\"a\": }", "[1, 2", "nul", "{'single': 1}"])
    func invalidMetadataIsRefused(metadata: String) throws {
        let store = try DensityStore(path: ":memory:")
        let error = #expect(throws: StoreError.self) {
            try store.createRun(name: "meta", features: 2, metadata: metadata)
        }
        guard case .settingOutOfRange(.metadata, _, let expected) = try #require(error) else {
            Issue.record("expected settingOutOfRange(.metadata), got \(String(describing: error))")
            return
        }
        #expect(expected.contains("JSON"))
        #expect(!(error?.description.contains("--") ?? true), "library text names no flag: \(String(describing: error))")
        #expect(try store.read { try $0.runs() }.isEmpty)
    }

    @Test(arguments: [#"{"l1": 0.001, "note": "naïve \"q\"", "nested": {"a": [1, 2, null]}}"#, "[]", "42", #""text""#, "null"])
    func validMetadataRoundTrips(metadata: String) throws {
        let store = try DensityStore(path: ":memory:")
        try store.createRun(name: "meta", features: 2, metadata: metadata)
        #expect(try store.read { try $0.run(named: "meta") }.metadata == metadata)
    }

    @Test func invalidRunSettingsAreRefused() throws {
        let store = try DensityStore(path: ":memory:")
        let attempts: [() throws -> Void] = [
            { try store.createRun(name: "r", features: 0) },
            { try store.createRun(name: "r", features: -1) },
            { try store.createRun(name: "r", features: 2, components: 0) },
            { try store.createRun(name: "r", features: 2, fireThreshold: .nan) },
            { try store.createRun(name: "r", features: 2, fireThreshold: .infinity) },
            { try store.createRun(name: "r", features: 2, chunkFeatures: 0) },
        ]
        let settings: [StoreSetting] = [.features, .features, .components, .fireThreshold, .fireThreshold, .chunkFeatures]
        for (attempt, setting) in zip(attempts, settings) {
            let error = #expect(throws: StoreError.self) { try attempt() }
            guard case .settingOutOfRange(setting, _, _) = try #require(error) else {
                Issue.record("expected settingOutOfRange(\(setting)), got \(String(describing: error))")
                continue
            }
        }
        #expect(try store.read { try $0.runs() }.isEmpty)
    }

    // MARK: - Unknown runs

    @Test func unknownRunListsKnownRuns() throws {
        let store = try DensityStore(path: ":memory:")
        let empty = #expect(throws: StoreError.self) { _ = try store.read { try $0.run(named: "nope") } }
        #expect(empty == .unknownRun(name: "nope", known: []))
        #expect(empty?.description.contains("no runs") == true)

        try store.createRun(name: "zeta", features: 1)
        try store.createRun(name: "alpha", features: 1)
        let state = try DensityState(features: 1)
        let expected = StoreError.unknownRun(name: "nope", known: ["alpha", "zeta"])
        #expect(throws: expected) { _ = try store.read { try $0.run(named: "nope") } }
        #expect(throws: expected) { try store.appendCheckpoint(run: "nope", step: 1, state: state) }
        #expect(throws: expected) { _ = try store.read { try $0.checkpoints(run: "nope") } }
        #expect(throws: expected) { _ = try store.read { try $0.state(run: "nope") } }
        #expect(throws: expected) { _ = try store.resume(run: "nope") }
        #expect(throws: expected) { _ = try store.read { try $0.window(run: "nope", WindowSpec(from: .start, to: .exact(1))) } }
        #expect(throws: expected) { _ = try store.read { try $0.trend(run: "nope", feature: 0) } }
        let text = expected.description
        #expect(text.contains("nope") && text.contains("alpha") && text.contains("zeta"))
    }

    // MARK: - Refused checkpoints leave the store unchanged

    /// A store with run "r" (features 10, components 2, chunks of 3) and checkpoints at 10 and 20.
    private func storeWithTwoCheckpoints(_ path: String) throws -> (DensityStore, [DensityState]) {
        let store = try DensityStore(path: path)
        try store.createRun(name: "r", features: 10, components: 2, chunkFeatures: 3)
        var rng = SplitMix64(seed: 77)
        let states = try randomCumulativeStates(features: 10, components: 2, count: 2, using: &rng)
        try store.appendCheckpoint(run: "r", step: 10, state: states[0])
        try store.appendCheckpoint(run: "r", step: 20, state: states[1])
        return (store, states)
    }

    /// What a refused write must not change: checkpoints, their states, and the raw row counts.
    private func snapshot(_ store: DensityStore, _ path: String) throws -> String {
        let db = try Connection(path: path, mode: .readOnly)
        let rows = try db.queryFirst("SELECT (SELECT count(*) FROM checkpoints), (SELECT count(*) FROM chunks)") {
            "\($0.int(0)) checkpoints, \($0.int(1)) chunks"
        }
        let states = try storedStates(store, "r").sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        return "\(rows ?? "")\n\(try store.read { try $0.checkpoints(run: "r") })\n\(states)"
    }

    @Test(arguments: [Int64(20), 15, 0])
    func stepsMustStrictlyIncrease(step: Int64) throws {
        try withTemporaryPath { path in
            let (store, states) = try storeWithTwoCheckpoints(path)
            let before = try snapshot(store, path)
            let bigger = try states[1].merged(with: DensityState(
                features: 10, components: 2, counts: [Int64](repeating: 1, count: 20), vectors: 1))
            let error = #expect(throws: StoreError.self) {
                try store.appendCheckpoint(run: "r", step: step, state: bigger)
            }
            #expect(error == .stepNotIncreasing(run: "r", step: step, latest: 20))
            #expect(error?.description.contains("step \(step)") == true)
            #expect(try snapshot(store, path) == before)
            // Step 21 is accepted.
            try store.appendCheckpoint(run: "r", step: 21, state: bigger)
            #expect(try store.read { try $0.state(run: "r") }.state == bigger)
        }
    }

    @Test func negativeStepIsRefused() throws {
        let store = try DensityStore(path: ":memory:")
        try store.createRun(name: "r", features: 1)
        let error = #expect(throws: StoreError.self) {
            try store.appendCheckpoint(run: "r", step: -1, state: DensityState(features: 1))
        }
        guard case .settingOutOfRange(.step, "-1", _) = try #require(error) else {
            Issue.record("expected settingOutOfRange(.step), got \(String(describing: error))")
            return
        }
        #expect(try store.read { try $0.checkpoints(run: "r") }.isEmpty)
    }

    @Test func decreasingCountIsRefusedNamingFeatureAndStep() throws {
        try withTemporaryPath { path in
            let (store, states) = try storeWithTwoCheckpoints(path)
            let before = try snapshot(store, path)
            // More vectors, every count up by one except component 1, feature 7, which goes down.
            var counts = states[1].counts.map { $0 + 1 }
            let index = 1 * 10 + 7
            try #require(states[1].counts[index] > 0)
            counts[index] = states[1].counts[index] - 1
            let lower = try DensityState(features: 10, components: 2, counts: counts,
                                         vectors: states[1].vectors + 5, nonFinite: states[1].nonFinite)
            let error = #expect(throws: StoreError.self) { try store.appendCheckpoint(run: "r", step: 30, state: lower) }
            guard case .countsDecreased(let run, let step, let previousStep, let detail) = try #require(error) else {
                Issue.record("expected countsDecreased, got \(String(describing: error))")
                return
            }
            #expect(run == "r" && step == 30 && previousStep == 20)
            #expect(detail.contains("component 1, feature 7"))
            #expect(detail.contains("\(states[1].counts[index])") && detail.contains("\(counts[index])"))
            let text = try #require(error).description
            #expect(text.contains("step 30") && text.contains("step 20") && text.contains("feature 7"))
            #expect(try snapshot(store, path) == before)
        }
    }

    @Test func decreasingVectorsOrNonFiniteIsRefused() throws {
        try withTemporaryPath { path in
            let (store, states) = try storeWithTwoCheckpoints(path)
            let before = try snapshot(store, path)
            let fewerVectors = try DensityState(
                features: 10, components: 2, counts: states[0].counts,
                vectors: states[1].vectors - 1, nonFinite: states[1].nonFinite)
            let error = #expect(throws: StoreError.self) { try store.appendCheckpoint(run: "r", step: 30, state: fewerVectors) }
            guard case .countsDecreased(_, 30, 20, let detail) = try #require(error) else {
                Issue.record("expected countsDecreased, got \(String(describing: error))")
                return
            }
            #expect(detail.contains("vectors went from \(states[1].vectors) to \(states[1].vectors - 1)"))
            let fewerNonFinite = try DensityState(
                features: 10, components: 2, counts: states[1].counts,
                vectors: states[1].vectors, nonFinite: states[1].nonFinite - 1)
            let error2 = #expect(throws: StoreError.self) { try store.appendCheckpoint(run: "r", step: 30, state: fewerNonFinite) }
            #expect(error2?.description.contains("non-finite") == true)
            #expect(try snapshot(store, path) == before)
        }
    }

    @Test func shapeMismatchIsRefused() throws {
        try withTemporaryPath { path in
            let (store, _) = try storeWithTwoCheckpoints(path)
            let before = try snapshot(store, path)
            let cases: [(DensityState, String)] = [
                (try DensityState(features: 9, components: 2), "components=2, features=9"),
                (try DensityState(features: 10), "features=10, no components"),
                (try DensityState(features: 10, components: 3), "components=3, features=10"),
            ]
            for (state, actual) in cases {
                #expect(throws: StoreError.shapeMismatch(run: "r", expected: "components=2, features=10", actual: actual)) {
                    try store.appendCheckpoint(run: "r", step: 30, state: state)
                }
            }
            #expect(try snapshot(store, path) == before)
        }
    }
}
