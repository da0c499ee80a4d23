import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// Failures in the middle of a write leave the previous state whole, and damaged chunks are
/// found by their checksum and named.
@Suite struct DensityStoreIntegrityTests {
    static let SQLITE_FULL: Int32 = 13
    static let SQLITE_CONSTRAINT_TRIGGER: Int32 = 1811

    /// Run "r": features 10, components 2, chunks of 3 (4 chunks per component, the last of one
    /// feature), with checkpoints at steps 10, 20 and 30.
    /// A run of three checkpoints (steps 10, 20, 30); with `keyframeInterval` 1 each is a keyframe,
    /// by default 20 and 30 are deltas on top of 10.
    private func store(_ path: String, keyframeInterval: Int = 1) throws -> (DensityStore, [DensityState]) {
        let store = try DensityStore(path: path)
        try store.createRun(name: "r", features: 10, components: 2, chunkFeatures: 3, keyframeInterval: keyframeInterval)
        var rng = SplitMix64(seed: 1234)
        let states = try randomCumulativeStates(features: 10, components: 2, count: 4, using: &rng)
        for (step, state) in zip([Int64(10), 20, 30], states.prefix(3)) {
            try store.appendCheckpoint(run: "r", step: step, state: state)
        }
        return (store, states)
    }

    private func rowCounts(_ path: String) throws -> [Int] {
        let db = try Connection(path: path, mode: .readOnly)
        return try db.queryFirst("SELECT (SELECT count(*) FROM checkpoints), (SELECT count(*) FROM chunks)") {
            [$0.int(0), $0.int(1)]
        } ?? []
    }

    // MARK: - Atomic checkpoints

    @Test func failureMidCheckpointLeavesThePreviousState() throws {
        try withTemporaryPath { path in
            let (store, states) = try store(path)
            let before = try rowCounts(path)
            #expect(before == [3, 3 * 8])
            let raw = try Connection(path: path)
            // Fails on the third chunk of each component, after the checkpoint row and two chunks.
            try raw.execute("""
                CREATE TRIGGER fail AFTER INSERT ON chunks WHEN NEW.chunk = 2
                BEGIN SELECT RAISE(ABORT, 'injected'); END;
                """)
            let error = #expect(throws: StoreError.self) {
                try store.appendCheckpoint(run: "r", step: 40, state: states[3])
            }
            guard case let .storageFailed(_, cause, detail) = error else { Issue.record("\(String(describing: error))"); return }
            #expect(cause == .other && error?.kind == .internal)
            #expect(detail.contains("SQLite error \(Self.SQLITE_CONSTRAINT_TRIGGER)") && detail.contains("injected"))
            // Nothing of step 40 is visible, to this connection or another.
            #expect(try rowCounts(path) == before)
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [10, 20, 30])
            #expect(try raw.queryFirst("SELECT count(*) FROM checkpoints WHERE step = 40") { $0.int(0) } == 0)
            #expect(try store.read { try $0.state(run: "r") }.state == states[2])
            #expect(try store.read { try $0.runs() }.first?.latest?.step == 30)

            try raw.execute("DROP TRIGGER fail")
            try store.appendCheckpoint(run: "r", step: 40, state: states[3])
            #expect(try store.read { try $0.state(run: "r") }.state == states[3])
            #expect(try rowCounts(path) == [4, 4 * 8])
        }
    }

    @Test func fullDatabaseMidCheckpointLeavesThePreviousState() throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            // 2 x 20 000 random counts: compressed, still well over 20 pages of 4 KiB a checkpoint.
            try store.createRun(name: "big", features: 20_000, components: 2, chunkFeatures: 1000)
            var rng = SplitMix64(seed: 9)
            let states = try randomCumulativeStates(features: 20_000, components: 2, count: 2, using: &rng)
            try store.appendCheckpoint(run: "big", step: 1, state: states[0])
            let pages = try store.withConnection { db in
                try db.queryFirst("PRAGMA page_count") { $0.int(0) } ?? 0
            }
            try #require(pages > 20)
            // Room for a page more, not for a second checkpoint.
            try store.withConnection { db in try db.execute("PRAGMA max_page_count = \(pages + 1)") }
            let error = #expect(throws: StoreError.self) {
                try store.appendCheckpoint(run: "big", step: 2, state: states[1])
            }
            guard case let .storageFailed(_, cause, detail) = error else { Issue.record("\(String(describing: error))"); return }
            #expect(cause == .full && error?.kind == .unavailable)
            #expect(detail.contains("SQLite error \(Self.SQLITE_FULL)"))
            #expect(try store.read { try $0.checkpoints(run: "big") }.map(\.step) == [1])
            #expect(try store.read { try $0.state(run: "big") }.state == states[0])
            #expect(try rowCounts(path) == [1, 40])

            try store.withConnection { db in try db.execute("PRAGMA max_page_count = 1000000") }
            try store.appendCheckpoint(run: "big", step: 2, state: states[1])
            #expect(try store.read { try $0.state(run: "big") }.state == states[1])
        }
    }

    // MARK: - Damaged chunks

    /// Ways to damage the chunk (checkpoint 20, component 1, chunk 1) and what the error says.
    enum Damage: String, CaseIterable, Sendable {
        case flippedByte, wrongChecksum, truncated, unknownEncoding

        var reason: String {
            switch self {
            case .flippedByte, .wrongChecksum: return "checksum"
            case .truncated: return "zstd"
            case .unknownEncoding: return "unknown encoding 99"
            }
        }
    }

    /// Applies `damage` to one chunk with a raw connection.
    private func damage(_ damage: Damage, path: String, step: Int64, component: Int, chunk: Int) throws {
        let raw = try Connection(path: path)
        let id = try #require(try raw.queryFirst("""
            SELECT k.id FROM chunks k JOIN checkpoints c ON c.id = k.checkpoint_id
            WHERE c.step = ? AND k.component = ? AND k.chunk = ?
            """, [.integer(step), .integer(Int64(component)), .integer(Int64(chunk))]) { $0.int64(0) })
        switch damage {
        case .flippedByte:
            var data = try #require(try raw.queryFirst("SELECT data FROM chunks WHERE id = ?", [.integer(id)]) { $0.data(0) })
            data[data.startIndex + 5] ^= 0x01
            try raw.execute("UPDATE chunks SET data = ? WHERE id = ?", [.blob(data), .integer(id)])
        case .truncated:
            // Shorter, with a checksum that matches: the decoder itself must catch it.
            var data = try #require(try raw.queryFirst("SELECT data FROM chunks WHERE id = ?", [.integer(id)]) { $0.data(0) })
            data = data.prefix(8)
            try raw.execute("UPDATE chunks SET data = ?, checksum = ? WHERE id = ?",
                            [.blob(data), .integer(Int64(bitwiseCRC32(data))), .integer(id)])
        case .wrongChecksum:
            try raw.execute("UPDATE chunks SET checksum = (checksum + 1) % 4294967296 WHERE id = ?", [.integer(id)])
        case .unknownEncoding:
            try raw.execute("UPDATE chunks SET encoding = 99 WHERE id = ?", [.integer(id)])
        }
        #expect(raw.changes == 1)
    }

    @Test(arguments: Damage.allCases)
    func damagedChunkIsNamedAndOtherCheckpointsStillRead(kind: Damage) throws {
        try withTemporaryPath { path in
            let (store, states) = try store(path)
            try damage(kind, path: path, step: 20, component: 1, chunk: 1)

            let error = #expect(throws: StoreError.self) { _ = try store.read { try $0.state(run: "r", at: .exact(20)) } }
            guard case .corruptChunk(let run, let step, let component, let chunk, let reason) = try #require(error) else {
                Issue.record("expected corruptChunk, got \(String(describing: error))")
                return
            }
            #expect(run == "r" && step == 20 && component == 1 && chunk == 1)
            #expect(reason.contains(kind.reason), "\(reason)")
            let text = try #require(error).description
            #expect(text.contains("'r'") && text.contains("step 20") && text.contains("component 1") && text.contains("chunk 1"))

            // Every other checkpoint still reads exactly.
            #expect(try store.read { try $0.state(run: "r", at: .exact(10)) }.state == states[0])
            #expect(try store.read { try $0.state(run: "r") }.state == states[2])
            #expect(try store.read { try $0.window(run: "r", WindowSpec(from: .exact(10), to: .exact(30))) }.state == states[2].subtracting(states[0]))
            // Anything that needs the damaged chunk says so.
            #expect(throws: StoreError.self) { _ = try store.read { try $0.window(run: "r", WindowSpec(from: .exact(20), to: .exact(30))) } }
            #expect(throws: StoreError.self) { _ = try store.resume(run: "r", at: .exact(25)) }
            // Feature 4 of component 1 is in chunk 1 ([3, 6)); feature 0 is in chunk 0.
            let trendError = #expect(throws: StoreError.self) { _ = try store.read { try $0.trend(run: "r", feature: 4, component: 1) } }
            if case .corruptChunk(_, let s, let c, let k, _)? = trendError {
                #expect(s == 20 && c == 1 && k == 1)
            } else {
                Issue.record("expected corruptChunk from trend, got \(String(describing: trendError))")
            }
            #expect(try store.read { try $0.trend(run: "r", feature: 0, component: 1) }.map(\.count)
                    == states.prefix(3).map { $0.counts[10] })
            #expect(try store.read { try $0.trend(run: "r", feature: 4, component: 0) }.map(\.count)
                    == states.prefix(3).map { $0.counts[4] })
        }
    }

    @Test func damagedChunkInADeltaChainIsNamedByEveryReadThroughIt() throws {
        try withTemporaryPath { path in
            let (store, states) = try store(path, keyframeInterval: 32)
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.deltaDepth) == [0, 1, 2])
            try damage(.flippedByte, path: path, step: 20, component: 1, chunk: 1)
            // Step 30 is a delta on top of step 20: reading it needs the damaged chunk, and says which.
            for step: Int64 in [20, 30] {
                let error = #expect(throws: StoreError.self) { _ = try store.read { try $0.state(run: "r", at: .exact(step)) } }
                if case .corruptChunk("r", 20, 1, 1, let reason)? = error {
                    #expect(reason.contains("checksum"))
                } else {
                    Issue.record("reading step \(step): expected corruptChunk at step 20, got \(String(describing: error))")
                }
            }
            // The keyframe before it still reads, and so does every other chunk's trend.
            #expect(try store.read { try $0.state(run: "r", at: .exact(10)) }.state == states[0])
            #expect(try store.read { try $0.trend(run: "r", feature: 0, component: 1) }.map(\.count) == states.prefix(3).map { $0.counts[10] })
            #expect(throws: StoreError.self) { _ = try store.read { try $0.trend(run: "r", feature: 4, component: 1) } }
            // The damage came through another connection, so the writer no longer trusts the state
            // it cached: it reads the latest checkpoint back, through the damaged chunk, and
            // refuses to append on top of it, as a fresh process would; nothing is stored.
            let error = #expect(throws: StoreError.self) { try store.appendCheckpoint(run: "r", step: 40, state: states[3]) }
            if case .corruptChunk("r", 20, 1, 1, _)? = error {} else {
                Issue.record("expected corruptChunk at step 20, got \(String(describing: error))")
            }
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [10, 20, 30])
        }
    }

    @Test func damagedLatestCheckpointBlocksAppending() throws {
        try withTemporaryPath { path in
            let (store, states) = try store(path)
            try damage(.flippedByte, path: path, step: 30, component: 0, chunk: 3)
            let error = #expect(throws: StoreError.self) { _ = try store.read { try $0.state(run: "r") } }
            if case .corruptChunk("r", 30, 0, 3, let reason)? = error {
                #expect(reason.contains("checksum"))
            } else {
                Issue.record("expected corruptChunk, got \(String(describing: error))")
            }
            // The next checkpoint is checked against the previous one, which cannot be read.
            #expect(throws: StoreError.self) { try store.appendCheckpoint(run: "r", step: 40, state: states[3]) }
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [10, 20, 30])
        }
    }

    @Test func missingOrExtraChunkIsNamed() throws {
        try withTemporaryPath { path in
            let (store, states) = try store(path)
            let raw = try Connection(path: path)
            let id20 = try #require(try raw.queryFirst("SELECT id FROM checkpoints WHERE step = 20") { $0.int64(0) })
            try raw.execute("DELETE FROM chunks WHERE checkpoint_id = ? AND component = 1 AND chunk = 3", [.integer(id20)])
            let missing = #expect(throws: StoreError.self) { _ = try store.read { try $0.state(run: "r", at: .exact(20)) } }
            if case .corruptChunk(_, 20, 1, 3, let reason)? = missing {
                #expect(reason.contains("missing"))
            } else {
                Issue.record("expected corruptChunk for the missing chunk, got \(String(describing: missing))")
            }

            let id10 = try #require(try raw.queryFirst("SELECT id FROM checkpoints WHERE step = 10") { $0.int64(0) })
            let data = littleEndianBytes([0, 0, 0])
            try raw.execute("INSERT INTO chunks (checkpoint_id, component, chunk, encoding, checksum, data) VALUES (?, 1, 7, 1, ?, ?)",
                            [.integer(id10), .integer(Int64(bitwiseCRC32(data))), .blob(data)])
            let extra = #expect(throws: StoreError.self) { _ = try store.read { try $0.state(run: "r", at: .exact(10)) } }
            if case .corruptChunk(_, 10, 1, 7, let reason)? = extra {
                #expect(reason.contains("unexpected"))
            } else {
                Issue.record("expected corruptChunk for the extra chunk, got \(String(describing: extra))")
            }
            #expect(try store.read { try $0.state(run: "r") }.state == states[2])
        }
    }
}
