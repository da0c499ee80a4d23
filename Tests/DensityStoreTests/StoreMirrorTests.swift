import DensityMetric
@testable import DensityStore
import Foundation
import Synchronization
import Testing

/// A store's mirror: a whole snapshot written by the backup API, in rollback-journal mode, swapped
/// in by rename, read immutable, never written.
@Suite struct StoreMirrorTests {
    /// A folder under the temporary directory for one test, removed afterwards.
    static func withFolder<T>(_ body: (URL) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("density-mirror-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("mirrors"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(folder)
    }

    /// The state at checkpoint `index` (1-based): count i is index * (i % 5), of index * 10 vectors,
    /// so any checkpoint tells from its step alone what it must hold.
    static func state(_ index: Int, features: Int = 64) throws -> DensityState {
        try DensityState(features: features, components: nil, counts: (0..<features).map { Int64(index * ($0 % 5)) },
                         vectors: Int64(index * 10))
    }

    @Test func aSnapshotIsAWholeRollbackJournalCopyThatNamesItsSource() throws {
        try Self.withFolder { folder in
            let source = folder.appendingPathComponent("run-3.sqlite").path
            let store = try DensityStore(path: source)
            try store.createRun(name: "r", features: 64, metadata: #"{"l1": 0.001}"#)
            for i in 1...5 { try store.appendCheckpoint(run: "r", step: Int64(i), state: Self.state(i)) }
            let mirror = try StoreMirror(source: source, folder: folder.appendingPathComponent("mirrors").path)
            #expect(mirror.path.hasSuffix("/mirrors/run-3.sqlite"))
            let before = Date()
            let origin = try mirror.write()
            // rollback journal: file format bytes 18 and 19 are 1 (2 would be WAL), and no sidecar files
            let bytes = try Data(contentsOf: URL(fileURLWithPath: mirror.path))
            #expect(bytes[18] == 1 && bytes[19] == 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("mirrors").path) == ["run-3.sqlite"])
            #expect(StoreMirror.isMirror(mirror.path))
            #expect(!StoreMirror.isMirror(source))
            let read = try #require(try StoreMirror.origin(at: mirror.path))
            #expect(read.source == StoreMirror.hostName() + ":" + source)
            #expect(read == origin && origin.snapshotAt >= before.addingTimeInterval(-0.002))
            // read like any store, and whole
            let copy = try DensityStore(path: mirror.path, readOnly: true)
            #expect(try copy.read { try $0.runs() }.map(\.checkpointCount) == [5])
            #expect(try copy.read { try $0.run(named: "r") }.metadata == #"{"l1": 0.001}"#)
            #expect(try copy.read { try $0.state(run: "r") }.state == Self.state(5))
            #expect(try copy.verify().problems.isEmpty)
            // never written: not by a store handle, and a mirror of another store is refused
            #expect(throws: MirrorError.writeToMirror(path: mirror.path, source: read.source)) { try DensityStore(path: mirror.path) }
            let other = folder.appendingPathComponent("other").path
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            let twin = other + "/run-3.sqlite"
            _ = try DensityStore(path: twin)
            #expect(throws: MirrorError.self) { try StoreMirror(source: twin, folder: folder.appendingPathComponent("mirrors").path) }
            // a file that is not a mirror is never replaced
            #expect(throws: MirrorError.notAMirror(path: twin)) { try StoreMirror(source: source, folder: other) }
            #expect(throws: MirrorError.noFolder(path: folder.appendingPathComponent("nowhere").path)) {
                try StoreMirror(source: source, folder: folder.appendingPathComponent("nowhere").path)
            }
        }
    }

    /// Two readers open and query the mirror over and over while it is replaced 100 times, each
    /// replacement one checkpoint further: no reader ever fails, and every answer is one whole
    /// snapshot (its checkpoint count, latest step and counts agree).
    @Test func readersNeverFailNorSeeHalfASnapshotWhileItIsReplaced() throws {
        try Self.withFolder { folder in
            let source = folder.appendingPathComponent("s.sqlite").path
            let store = try DensityStore(path: source)
            try store.createRun(name: "r", features: 4096, chunkFeatures: 512, keyframeInterval: 8)
            try store.appendCheckpoint(run: "r", step: 1, state: Self.state(1, features: 4096))
            let mirror = try StoreMirror(source: source, folder: folder.appendingPathComponent("mirrors").path)
            try mirror.write()
            let done = Atomic(false)
            let tally = Mutex((answers: 0, errors: [String](), seen: Set<Int64>()))
            let readers = (0..<2).map { _ in
                Thread.detachNewThreadWithCompletion {
                    while !done.load(ordering: .acquiring) {
                        do {
                            let copy = try DensityStore(path: mirror.path, readOnly: true)
                            let (summary, checkpoint, state) = try copy.read { snapshot in
                                guard let summary = try snapshot.runs().first else {
                                    throw SelectionError.noCheckpointYet(run: "r", pending: [])
                                }
                                let (checkpoint, state) = try snapshot.state(run: "r")
                                return (summary, checkpoint, state)
                            }
                            guard let latest = summary.latest else { throw SelectionError.noCheckpointYet(run: "r", pending: []) }
                            let expected = try Self.state(Int(latest.step), features: 4096)
                            let whole = Int64(summary.checkpointCount) == latest.step && checkpoint == latest && state == expected
                            tally.withLock {
                                $0.answers += 1
                                $0.seen.insert(latest.step)
                                if !whole { $0.errors.append("torn answer at step \(latest.step)") }
                            }
                        } catch {
                            tally.withLock { $0.errors.append("\(error)") }
                        }
                    }
                }
            }
            for i in 2...101 {
                try store.appendCheckpoint(run: "r", step: Int64(i), state: Self.state(i, features: 4096))
                try mirror.write()
            }
            done.store(true, ordering: .releasing)
            for reader in readers { reader.wait() }
            let result = tally.withLock { $0 }
            #expect(result.errors.isEmpty, "\(result.errors.prefix(5))")
            #expect(result.answers >= 100, "only \(result.answers) answers")
            #expect(result.seen.count > 10, "readers saw only snapshots \(result.seen.sorted())")
            #expect(try DensityStore(path: mirror.path, readOnly: true).read { try $0.runs() }.first?.checkpointCount == 101)
        }
    }

    /// A read that fails as a read of a replaced file does on NFS (`SQLITE_IOERR_READ`, 266, or
    /// `SQLITE_IOERR_SHORT_READ`, 522) is asked again, from its start, on a new connection to the
    /// file now at the path, at most ``DensityStore/replacedMirrorRetries`` times, on a mirror
    /// only; any other error, or any error of another store, is thrown as it was, asked once.
    /// (`python/tests/test_mirror_replaced.py` makes real reads fail so, under readers.)
    @Test func aReadOfAReplacedMirrorIsAskedAgainOnTheNewSnapshotABoundedNumberOfTimes() throws {
        try Self.withFolder { folder in
            let source = folder.appendingPathComponent("s.sqlite").path
            let store = try DensityStore(path: source)
            try store.createRun(name: "r", features: 64)
            try store.appendCheckpoint(run: "r", step: 1, state: Self.state(1))
            let mirror = try StoreMirror(source: source, folder: folder.appendingPathComponent("mirrors").path)
            try mirror.write()
            let copy = try DensityStore(path: mirror.path, readOnly: true)
            try #require(copy.isMirror && !store.isMirror && DensityStore.replacedMirrorRetries == 3)
            /// Asks `store` a question whose first `failures` tries fail with `code`: the connections it ran on.
            func ask(_ store: DensityStore, failing failures: Int, code: Int32) throws -> [ObjectIdentifier] {
                var seen: [ObjectIdentifier] = []
                try store.withConnection { db in
                    seen.append(ObjectIdentifier(db))
                    if seen.count <= failures { throw SQLiteError(code: code, message: "disk I/O error") }
                    _ = try db.query("SELECT step FROM checkpoints") { $0.int64(0) }
                }
                return seen
            }
            for code: Int32 in [266, 522] {
                for failures in 1...3 {
                    let seen = try ask(copy, failing: failures, code: code)
                    #expect(seen.count == failures + 1 && Set(seen).count == failures + 1, "each try on a new connection")
                }
            }
            // the new snapshot is what is read after a replacement
            try store.appendCheckpoint(run: "r", step: 2, state: Self.state(2))
            try mirror.write()
            #expect(try copy.read { try $0.state(run: "r") }.state == Self.state(1))  // immutable: its snapshot
            _ = try ask(copy, failing: 1, code: 266)
            #expect(try copy.read { try $0.state(run: "r") }.state == Self.state(2))
            // bounded: the fourth failure in a row is the error
            #expect(throws: StoreError.self) { try ask(copy, failing: 4, code: 266) }
            // another error of a mirror, and any error of another store, is asked once
            for (handle, code) in [(copy, Int32(10)), (copy, 11), (store, 266), (store, 522)] {
                var tries = 0
                #expect(throws: StoreError.self) {
                    try handle.withConnection { _ in tries += 1; throw SQLiteError(code: code, message: "m") }
                }
                #expect(tries == 1, "code \(code) on \(handle.isMirror ? "the mirror" : "the store") was tried \(tries) times")
            }
        }
    }

    @Test func aScheduleSnapshotsOnlyWhatChangedAndOnceMoreAtClose() throws {
        try Self.withFolder { folder in
            let source = folder.appendingPathComponent("s.sqlite").path
            let store = try DensityStore(path: source)
            try store.createRun(name: "r", features: 64)
            let mirror = try StoreMirror(source: source, folder: folder.appendingPathComponent("mirrors").path)
            let errors = Mutex([String]())
            let schedule = MirrorSchedule(mirror, every: .milliseconds(20)) { error in errors.withLock { $0.append("\(error)") } }
            try store.appendCheckpoint(run: "r", step: 1, state: Self.state(1))
            let deadline = Date().addingTimeInterval(10)
            while schedule.snapshotsWritten == 0, Date() < deadline { usleep(5_000) }
            try #require(schedule.snapshotsWritten >= 1)
            // nothing committed: nothing rewritten, however many intervals pass
            usleep(100_000)
            let idle = schedule.snapshotsWritten
            usleep(200_000)
            #expect(schedule.snapshotsWritten == idle)
            try store.appendCheckpoint(run: "r", step: 2, state: Self.state(2))
            let origin = try #require(try schedule.close())
            #expect(try schedule.close() == nil)
            #expect(schedule.snapshotsWritten >= idle + 1)
            #expect(try StoreMirror.origin(at: mirror.path) == origin)
            #expect(try DensityStore(path: mirror.path, readOnly: true).read { try $0.state(run: "r") }.state == Self.state(2))
            #expect(errors.withLock { $0 }.isEmpty)
        }
    }
}

extension Thread {
    /// A handle to wait on a detached thread's end.
    final class Completion: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        fileprivate func signal() { semaphore.signal() }
        /// Waits until the thread's body returned.
        func wait() { semaphore.wait() }
    }

    /// Runs `body` on a new thread; the returned handle waits for it.
    static func detachNewThreadWithCompletion(_ body: @escaping @Sendable () -> Void) -> Completion {
        let completion = Completion()
        detachNewThread { body(); completion.signal() }
        return completion
    }
}
