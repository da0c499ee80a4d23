import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// Every public question opens exactly one transaction: counted by SQLite's statement trace
/// (each `BEGIN`, and each statement run outside a transaction, which SQLite wraps in its own).
@Suite struct TransactionCountTests {
    /// A run of 8 checkpoints (keyframes every 3), a second of the same width, and a run of 2 ranks
    /// with a pending step.
    static func fixture(_ path: String) throws -> DensityStore {
        let store = try DensityStore(path: path)
        var rng = SplitMix64(seed: 21)
        for name in ["r", "s"] {
            try store.createRun(name: name, features: 12, components: 2, chunkFeatures: 5, keyframeInterval: 3)
            let states = try randomCumulativeStates(features: 12, components: 2, count: 8, using: &rng)
            for (index, state) in states.enumerated() {
                try store.appendCheckpoint(run: name, step: Int64(10 * (index + 1)), state: state)
            }
        }
        try store.createRun(name: "ranks", features: 4, worldSize: 2)
        let half = try DensityState(features: 4, components: nil, counts: [1, 0, 2, 0], vectors: 3)
        try store.record(run: "ranks", step: 5, state: half, rank: (0, 2))
        return store
    }

    /// How many transactions `body` opens on `store`'s connection.
    static func transactions(_ store: DensityStore, _ body: () throws -> Void) throws -> Int {
        let count = store.connection.withLock { $0.countTransactions() }
        defer { store.connection.withLock { $0.stopCountingTransactions() } }
        try body()
        return count.count
    }

    /// Every public question, each asked as a front end asks it: one `read`.
    static let questions: [(String, @Sendable (DensityStore) throws -> Void)] = [
        ("runs", { store in _ = try store.read { try $0.runs() } }),
        ("run", { store in _ = try store.read { try $0.run(named: "r") } }),
        ("checkpoints", { store in _ = try store.read { try $0.checkpoints(run: "r") } }),
        ("pendingSteps", { store in _ = try store.read { try $0.pendingSteps(run: "ranks") } }),
        ("noCheckpointYet", { store in _ = try store.read { try $0.noCheckpointYet(run: "ranks") } }),
        ("resolve step", { store in _ = try store.read { try $0.resolve(.offset(2), run: "r") } }),
        ("resolve window", { store in _ = try store.read { try $0.resolve(WindowSpec(from: .first, to: .latest), run: "r") } }),
        ("checkpoint", { store in _ = try store.read { try $0.checkpoint(run: "r", at: .exact(45)) } }),
        ("state", { store in _ = try store.read { try $0.state(run: "r", at: .offset(1)) } }),
        ("summary", { store in _ = try store.read { try $0.summary(run: "r", at: .first) } }),
        ("overview", { store in _ = try store.read { try $0.overview(run: "r", at: .exact(35)) } }),
        ("summaries", { store in _ = try store.read { try $0.summaries(run: "r") } }),
        ("window", { store in _ = try store.read { try $0.window(run: "r", WindowSpec(from: .exact(20), to: .latest)) } }),
        ("windowSummary", { store in _ = try store.read { try $0.windowSummary(run: "r", WindowSpec(from: .first, to: .latest), bins: 10) } }),
        ("movers", { store in
            _ = try store.read { try $0.movers(run: "r", window: WindowSpec(from: .offset(2), to: .latest), top: 3, recentlyDead: 3) { _, _, _ in } }
        }),
        ("deadFeatures", { store in _ = try store.read { try $0.deadFeatures(run: "r", in: .steps(WindowSpec(from: .exact(40), to: .latest))) } }),
        ("deadFeatures last vectors", { store in _ = try store.read { try $0.deadFeatures(run: "r", in: .lastVectors(1), threshold: 0.5) } }),
        ("denseFeatures", { store in _ = try store.read { try $0.denseFeatures(run: "r", in: .wholeRun, threshold: 0.01) } }),
        ("trend", { store in _ = try store.read { try $0.trend(run: "r", feature: 7, component: 1) } }),
        ("compare", { store in _ = try store.read { try $0.compare(["r", "s"], at: .offset(1)) } }),
        ("report", { store in _ = try store.read { try $0.report(run: "r", from: nil, to: nil, features: nil, top: 2) } }),
        ("several questions", { store in
            _ = try store.read { snapshot in
                (try snapshot.run(named: "r"), try snapshot.summaries(run: "r"), try snapshot.trend(run: "s", feature: 1),
                 try snapshot.movers(run: "r", window: .wholeRun, top: 1))
            }
        }),
        ("resume", { store in _ = try store.resume(run: "r", at: .offset(3)) }),
        ("verify", { store in _ = try store.verify(run: "r") }),
        ("dataVersion", { store in _ = try store.dataVersion() }),
    ]

    @Test(arguments: questions.indices)
    func eachPublicQuestionOpensOneTransaction(index: Int) throws {
        try withTemporaryPath { path in
            let store = try Self.fixture(path)
            let (name, ask) = Self.questions[index]
            #expect(try Self.transactions(store) { try ask(store) } == 1, "\(name)")
        }
    }

    @Test func theCountSeesEveryTransaction() throws {
        try withTemporaryPath { path in
            let store = try Self.fixture(path)
            // Two reads are two snapshots; a statement outside a transaction is one of its own.
            #expect(try Self.transactions(store) {
                _ = try store.read { try $0.runs() }
                _ = try store.read { try $0.runs() }
            } == 2)
            #expect(try Self.transactions(store) {
                try store.withConnection { db in
                    _ = try db.query("SELECT step FROM checkpoints") { $0.int64(0) }
                    _ = try db.query("SELECT name FROM runs") { $0.string(0) }
                }
            } == 2)
        }
    }

    @Test func aRefusedQuestionStillOpensOneTransaction() throws {
        try withTemporaryPath { path in
            let store = try Self.fixture(path)
            let count = try Self.transactions(store) {
                #expect(throws: SelectionError.self) { try store.read { try $0.state(run: "r", at: .exact(1)) } }
            }
            #expect(count == 1)
        }
    }

    @Test func eachWriteOpensOneTransaction() throws {
        try withTemporaryPath { path in
            let store = try Self.fixture(path)
            let next = try store.read { try $0.state(run: "r") }.state
            #expect(try Self.transactions(store) { try store.appendCheckpoint(run: "r", step: 100, state: next) } == 1)
            #expect(try Self.transactions(store) { try store.createRun(name: "t", features: 3) } == 1)
            #expect(try Self.transactions(store) { try store.resume(run: "r", at: .offset(1), discardLater: true) } == 1)
            #expect(try Self.transactions(store) { try store.deleteRun(named: "t") } == 1)
        }
    }

    @Test func aMergeReadsEachSourceInOneTransaction() throws {
        try withTemporaryPath { sourcePath in
            try withTemporaryPath { path in
                let source = try Self.fixture(sourcePath)
                let store = try DensityStore(path: path)
                let sourceCount = source.connection.withLock { $0.countTransactions() }
                defer { source.connection.withLock { $0.stopCountingTransactions() } }
                let count = try Self.transactions(store) {
                    let report = try store.merge(from: [source])
                    #expect(report.checkpointsCopied == 16)
                }
                #expect(count == 1)
                #expect(sourceCount.count == 1)
            }
        }
    }
}
