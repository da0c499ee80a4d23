import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// One writer per run: a second store handle writing the same run is refused with a clear error
/// naming the holder, other runs and readers are unaffected, and the lock goes with its handle.
@Suite struct RunWriterLockTests {
    private func withLockedPath<T>(_ body: (String) throws -> T) throws -> T {
        try withTemporaryPath { path in
            defer { try? FileManager.default.removeItem(atPath: RunWriterLock.lockPath(forStore: path)) }
            return try body(path)
        }
    }

    private func state(_ vectors: Int64, features: Int = 4) throws -> DensityState {
        try DensityState(features: features, components: nil,
                         counts: [Int64](repeating: vectors / 2, count: features), vectors: vectors)
    }

    @Test func secondWriterOfARunIsRefusedUntilTheFirstIsReleased() throws {
        try withLockedPath { path in
            var first: DensityStore? = try DensityStore(path: path)
            try first!.createRun(name: "r", features: 4)
            try first!.createRun(name: "other", features: 4)
            try first!.appendCheckpoint(run: "r", step: 1, state: state(2))

            let second = try DensityStore(path: path)
            let error = #expect(throws: WriterLockError.self) {
                try second.appendCheckpoint(run: "r", step: 2, state: state(4))
            }
            #expect(error == .heldByAnotherWriter(run: "r", pid: getpid()))
            #expect(error?.description.contains("run 'r' is being written by another process (pid \(getpid()))") == true)
            #expect(throws: WriterLockError.self) { try second.lockRunForWriting("r") }
            #expect(throws: WriterLockError.self) { try second.compact(run: "r", keepEvery: 1) }
            #expect(throws: WriterLockError.self) { try second.resume(run: "r", at: .exact(1), discardLater: true) }
            #expect(throws: WriterLockError.self) { try second.deleteRun(named: "r") }
            // Nothing was written by the refused calls.
            #expect(try second.read { try $0.checkpoints(run: "r") }.map(\.step) == [1])

            // Another run, and readers, are not affected.
            try second.appendCheckpoint(run: "other", step: 7, state: state(2))
            let reader = try DensityStore(path: path, readOnly: true)
            #expect(try reader.read { try $0.state(run: "r") }.checkpoint.step == 1)
            #expect(throws: WriterLockError.self) { try first!.appendCheckpoint(run: "other", step: 8, state: state(4)) }

            // The first handle keeps writing its run; once released, the second takes over.
            try first!.appendCheckpoint(run: "r", step: 2, state: state(4))
            first = nil
            try second.appendCheckpoint(run: "r", step: 3, state: state(6))
            #expect(try second.read { try $0.checkpoints(run: "r") }.map(\.step) == [1, 2, 3])
        }
    }

    @Test func lockFileHasTheStoresModeAndTheHoldersPid() throws {
        try withLockedPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "r", features: 4)
            #expect(chmod(path, 0o600) == 0)
            try store.lockRunForWriting("r")
            let lockPath = RunWriterLock.lockPath(forStore: path)
            let attributes = try FileManager.default.attributesOfItem(atPath: lockPath)
            let mode = try #require(attributes[.posixPermissions] as? NSNumber).intValue
            #expect(mode & 0o077 == 0, "lock file mode \(String(mode, radix: 8)) for a 0600 store")
            let run = try store.read { try $0.run(named: "r") }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: lockPath))
            let slot = Int(run.id * RunWriterLock.slotsPerRun * 8)
            try #require(bytes.count >= slot + 8)
            let pid = bytes[slot..<(slot + 8)].enumerated()
                .reduce(Int64(0)) { $0 | Int64($1.element) << (8 * Int64($1.offset)) }
            #expect(pid == Int64(getpid()))
        }
    }

    @Test func ranksOfADistributedRunWriteSideBySideButNotTwice() throws {
        try withLockedPath { path in
            let store = try DensityStore(path: path)
            let run = try store.createRun(name: "d", features: 4, worldSize: 2)
            do {
                let ranks = try RunWriterLock(storePath: path)
                try ranks.lock(runID: run.id, runName: "d", rank: 0)
                try ranks.lock(runID: run.id, runName: "d", rank: 1)
                try ranks.lock(runID: run.id, runName: "d", rank: 1)  // held already: a no-op
                let other = try RunWriterLock(storePath: path)
                try other.lock(runID: run.id, runName: "d", rank: 2)
                #expect(throws: WriterLockError.heldByAnotherWriter(run: "d", pid: getpid())) {
                    try other.lock(runID: run.id, runName: "d", rank: 1)
                }
                // The whole run (compaction, a single writer) waits for every other rank writer.
                #expect(throws: WriterLockError.heldByAnotherWriter(run: "d", pid: getpid())) {
                    try other.lock(runID: run.id, runName: "d")
                }
            }
            // Through the store: each rank's writer takes its own rank's lock.
            let other = try DensityStore(path: path)
            try store.record(run: "d", step: 1, state: state(2), rank: (rank: 0, worldSize: 2))
            #expect(throws: WriterLockError.self) {
                try other.record(run: "d", step: 1, state: state(2), rank: (rank: 0, worldSize: 2))
            }
            try other.record(run: "d", step: 1, state: state(2), rank: (rank: 1, worldSize: 2))
            // A handle holding a rank may still take its whole run (as resume --discard-later does),
            // unless another handle holds a rank of it.
            #expect(throws: WriterLockError.self) { try store.resume(run: "d", at: .exact(1), discardLater: true) }
            let alone = try DensityStore(path: path)
            let run2 = try alone.createRun(name: "e", features: 4, worldSize: 2)
            try alone.record(run: "e", step: 1, state: state(2), rank: (rank: 0, worldSize: 2))
            try alone.lockRunForWriting("e")
            #expect(run2.worldSize == 2)
        }
    }

    @Test func readOnlyAndInMemoryStoresTakeNoLock() throws {
        try withLockedPath { path in
            let writer = try DensityStore(path: path)
            try writer.createRun(name: "r", features: 4)
            try writer.lockRunForWriting("r")
            let reader = try DensityStore(path: path, readOnly: true)
            try reader.lockRunForWriting("r")  // a no-op: it cannot write anyway
            let memory = try DensityStore(path: ":memory:")
            try memory.createRun(name: "r", features: 4)
            try memory.appendCheckpoint(run: "r", step: 1, state: state(2))
            #expect(!FileManager.default.fileExists(atPath: RunWriterLock.lockPath(forStore: ":memory:")))
        }
    }
}
