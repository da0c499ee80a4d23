import DensityMetric
@testable import DensityStore
import Foundation
import Synchronization
import Testing

/// The queries behind `dead`, `diff`, `trend`, `histogram`, `report` and `export`, run from other
/// handles beside a writer that appends, then beside compaction, then beside rewinds
/// (`resume --discard-later`) that record the discarded steps again: no reader fails, and every
/// answer equals the committed history at the steps it names.
@Suite struct SnapshotReadTests {
    static let features = 40
    static let count = 90

    /// The history every writer commits: checkpoint `i` is at step `10 * (i + 1)`.
    static let states: [Int64: DensityState] = {
        var counts = [Int64](repeating: 0, count: features), result: [Int64: DensityState] = [:]
        for i in 0..<count {
            for f in 0..<features where f % 7 != 0 && !(f % 5 == 0 && i > 10 + f) {
                counts[f] += Int64((f * 31 + i * 17) % 3)
            }
            result[step(i)] = try! DensityState(features: features, components: nil, counts: counts, vectors: Int64(3 * (i + 1)))
        }
        return result
    }()

    static func step(_ index: Int) -> Int64 { Int64(10 * (index + 1)) }

    /// Checks one round of every query against ``states``; returns the problems found.
    static func check(_ store: DensityStore) -> [String] {
        var problems: [String] = []
        func expect(_ ok: Bool, _ what: @autoclosure () -> String) { if !ok { problems.append(what()) } }
        do {
            // diff (and export, histogram over a window): the window's counts.
            let window = try store.window(run: "r", WindowSpec(from: .offset(3), to: .latest))
            let expected = try states[window.to]!.subtracting(window.from.map { states[$0]! } ?? DensityState(features: features))
            expect(window.state == expected, "window \(String(describing: window.from)):\(window.to)")
            // diff's risers and fallers, with the previous window.
            let movers = try store.movers(run: "r", window: WindowSpec(from: .offset(2), to: .latest), top: 3)
            if let previous = movers.previous {
                let before = try states[previous.to]!.subtracting(previous.from.map { states[$0]! } ?? DensityState(features: features))
                expect(previous.state == before, "previous window \(String(describing: previous.from)):\(previous.to)")
            }
            // dead, with last-fired steps: each at or after its count reached its final value.
            let dead = try store.deadFeatures(run: "r", window: WindowSpec(from: .offset(4), to: .latest))
            let final = states[dead.window.to]!
            let start = dead.window.from.map { states[$0]! }
            let deadSet = dead.dead.map(\.feature)
            let expectedDead = (0..<features).filter { final.counts[$0] == (start?.counts[$0] ?? 0) }
            expect(deadSet == expectedDead, "dead set of \(String(describing: dead.window.from)):\(dead.window.to)")
            for feature in dead.dead + (dead.revived ?? []) {
                let f = feature.feature
                if let fired = feature.lastFiredStep {
                    expect(final.counts[f] > 0 && states[fired]!.counts[f] == final.counts[f] && fired <= dead.window.to,
                           "last fired \(fired) of feature \(f)")
                } else {
                    expect(final.counts[f] == 0, "feature \(f) said never to fire")
                }
            }
            // trend: every point is the committed count.
            for point in try store.trend(run: "r", feature: 3) {
                expect(point.count == states[point.step]!.counts[3] && point.vectors == states[point.step]!.vectors,
                       "trend at \(point.step)")
            }
            // report and histogram --over-training: every stored summary.
            for (checkpoint, summary) in try store.summaries(run: "r") {
                expect(summary == DensitySummary(states[checkpoint.step]!), "summary at \(checkpoint.step)")
            }
            // export --step latest, state.
            let latest = try store.state(run: "r", at: .latest)
            expect(latest.state == states[latest.checkpoint.step]!, "state at \(latest.checkpoint.step)")
        } catch {
            problems.append("reader error: \(error)")
        }
        return problems
    }

    /// Runs readers on their own handles while `write` runs; returns their problems and rounds.
    static func readBeside(path: String, _ write: @escaping @Sendable () throws -> Void) throws -> (problems: [String], rounds: Int) {
        let done = Atomic<Bool>(false)
        let found = Mutex<(problems: [String], rounds: Int)>(([], 0))
        let readers = (0..<2).map { _ in
            Thread {
                guard let store = try? DensityStore(path: path, readOnly: true) else {
                    found.withLock { $0.problems.append("cannot open for reading") }
                    return
                }
                repeat {
                    let problems = check(store)
                    found.withLock { $0.problems += problems; $0.rounds += 1 }
                } while !done.load(ordering: .acquiring)
            }
        }
        let writeError = Mutex<String?>(nil)
        let writer = Thread {
            do { try write() } catch { writeError.withLock { $0 = "\(error)" } }
            done.store(true, ordering: .releasing)
        }
        readers.forEach { $0.start() }
        writer.start()
        while !done.load(ordering: .acquiring) || readers.contains(where: { $0.isExecuting }) {
            Thread.sleep(forTimeInterval: 0.01)
        }
        Thread.sleep(forTimeInterval: 0.05)
        if let failed = writeError.withLock({ $0 }) { throw WriteFailed(description: failed) }
        return found.withLock { $0 }
    }

    /// The writer beside the readers failed.
    struct WriteFailed: Error, CustomStringConvertible { let description: String }

    @Test func readersBesideAppendsCompactionAndRewinds() throws {
        try withTemporaryPath { path in
            do {  // this handle and its writer lock are gone before the writers below start
                let store = try DensityStore(path: path)
                try store.createRun(name: "r", features: Self.features, chunkFeatures: 16, keyframeInterval: 4)
                for i in 0..<10 { try store.appendCheckpoint(run: "r", step: Self.step(i), state: Self.states[Self.step(i)]!) }
            }
            // A writer appending.
            let appending = try Self.readBeside(path: path) {
                let writer = try DensityStore(path: path)
                for i in 10..<Self.count {
                    try writer.appendCheckpoint(run: "r", step: Self.step(i), state: Self.states[Self.step(i)]!)
                }
            }
            #expect(appending.problems == [], "\(appending.problems.prefix(5))")
            #expect(appending.rounds >= 2)
            // Compaction, while another handle keeps the run.
            let compacting = try Self.readBeside(path: path) {
                let writer = try DensityStore(path: path)
                for every: Int64 in [20, 40, 80] {
                    _ = try writer.compact(run: "r", keepEvery: every, keepLast: 8)
                }
            }
            #expect(compacting.problems == [], "\(compacting.problems.prefix(5))")
            #expect(compacting.rounds >= 2)
            // Rewinds that discard the latest checkpoints, each recorded again.
            let rewinding = try Self.readBeside(path: path) {
                let writer = try DensityStore(path: path)
                for _ in 0..<6 {
                    let resumed = try writer.resume(run: "r", at: .offset(3), discardLater: true)
                    let from = Int(resumed.checkpoint.step / 10)
                    for i in from..<Self.count {
                        try writer.appendCheckpoint(run: "r", step: Self.step(i), state: Self.states[Self.step(i)]!)
                    }
                }
            }
            #expect(rewinding.problems == [], "\(rewinding.problems.prefix(5))")
            #expect(rewinding.rounds >= 2)
            #expect(try DensityStore(path: path, readOnly: true).checkpoints(run: "r").last?.step == Self.step(Self.count - 1))
        }
    }
}
