import DensityMetric
@testable import DensityStore
import Foundation
import Synchronization
import Testing

/// The queries behind `dead`, `diff`, `trend`, `histogram`, `report` (one read, ``DensityStore/report(run:from:to:features:top:)``)
/// and `export` (``DensityStore/window(run:_:)``, ``DensityStore/state(run:at:)``), run from other
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
            let window = try store.read { try $0.window(run: "r", WindowSpec(from: .offset(3), to: .latest)) }
            let expected = try states[window.to]!.subtracting(window.from.map { states[$0]! } ?? DensityState(features: features))
            expect(window.state == expected, "window \(String(describing: window.from)):\(window.to)")
            // diff's summary, risers and fallers, with the previous window.
            let movers = try store.read { try $0.movers(run: "r", window: WindowSpec(from: .offset(2), to: .latest), top: 3) }
            problems += expectMovers(movers, top: 3, steps: [], what: "diff")
            // histogram over a window: its summary.
            let summarized = try store.read { try $0.windowSummary(run: "r", WindowSpec(from: .offset(3), to: .latest), bins: 20) }
            expect(summarized.summary == DensitySummary(try windowState(summarized.window), bins: 20),
                   "window summary \(String(describing: summarized.window.from)):\(summarized.window.to)")
            // report: its summaries, window, movers and trends all from one committed history.
            let report = try store.read { try $0.report(run: "r", from: nil, to: nil, features: nil, top: 2) }
            for (checkpoint, summary) in report.summaries {
                expect(summary == DensitySummary(states[checkpoint.step]!), "report summary at \(checkpoint.step)")
            }
            let reportSteps = report.summaries.map(\.checkpoint.step)
            expect(report.upper == reportSteps.last, "report upper \(report.upper)")
            if let movers = report.movers {
                expect(movers.window.to == reportSteps.last, "report window end \(movers.window.to)")
                problems += expectMovers(movers, top: 2, steps: reportSteps, what: "report")
            }
            for (index, points) in report.trends {
                expect(points.map(\.step) == reportSteps, "report trend of \(index): steps of another history")
                for point in points {
                    expect(point.count == states[point.step]!.counts[index], "report trend of \(index) at \(point.step)")
                }
            }
            let wanted = report.movers.map { $0.risers.map(\.index) + $0.fallers.map(\.index) + $0.recentlyDead.map(\.index) } ?? []
            expect(Set(report.trends.keys) == Set(wanted), "report trends \(report.trends.keys.sorted()) for picks \(wanted)")
            // dead, with last-fired steps: each at or after its count reached its final value.
            let dead = try store.read { try $0.deadFeatures(run: "r", in: .steps(WindowSpec(from: .offset(4), to: .latest))) }
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
            for point in try store.read { try $0.trend(run: "r", feature: 3) } {
                expect(point.count == states[point.step]!.counts[3] && point.vectors == states[point.step]!.vectors,
                       "trend at \(point.step)")
            }
            // report and histogram --over-training: every stored summary.
            for (checkpoint, summary) in try store.read { try $0.summaries(run: "r") } {
                expect(summary == DensitySummary(states[checkpoint.step]!), "summary at \(checkpoint.step)")
            }
            // export --step latest, state.
            let latest = try store.read { try $0.state(run: "r", at: .latest) }
            expect(latest.state == states[latest.checkpoint.step]!, "state at \(latest.checkpoint.step)")
        } catch {
            problems.append("reader error: \(error)")
        }
        return problems
    }

    /// The committed counts over a window.
    static func windowState(_ window: WindowBounds) throws -> DensityState {
        try states[window.to]!.subtracting(window.from.map { states[$0]! } ?? DensityState(features: features))
    }

    /// Checks a window's movers against the committed history: both windows' vectors, the
    /// window's summary, the risers and fallers (ranked here from the committed densities) and
    /// the most recently dead (each silent in the window, its count final since the step given,
    /// and still rising at the stored checkpoint before, of `steps`).
    static func expectMovers(_ movers: WindowMovers, top: Int, steps stored: [Int64], what: String) -> [String] {
        var problems: [String] = []
        func expect(_ ok: Bool, _ detail: @autoclosure () -> String) { if !ok { problems.append("\(what): \(detail())") } }
        do {
            let window = try windowState(movers.window)
            expect(window.vectors == movers.window.vectors, "window vectors")
            expect(movers.summary == DensitySummary(window), "window summary")
            guard let bounds = movers.previous else { return problems }
            let previous = try windowState(bounds)
            expect(previous.vectors == bounds.vectors, "previous window vectors")
            let now = window.densities(), before = previous.densities()
            let change = now.indices.map { now[$0] - before[$0] }
            let order = change.indices.sorted { change[$0] != change[$1] ? change[$0] > change[$1] : $0 < $1 }
            if bounds.vectors > 0 {
                expect(movers.risers.map(\.index) == Array(order.prefix(top).filter { change[$0] > 0 }), "risers")
                expect(movers.fallers.map(\.index) == Array(order.reversed().prefix(top).filter { change[$0] < 0 }), "fallers")
            }
            let start = states[movers.window.from!]!
            let steps = stored.filter { $0 <= movers.window.from! }
            for dead in movers.recentlyDead {
                let i = dead.index
                let earlier = steps.last { $0 < dead.lastRose }.map { states[$0]!.counts[i] } ?? 0
                expect(window.counts[i] == 0 && start.counts[i] > 0 && states[dead.lastRose]?.counts[i] == start.counts[i]
                       && earlier < start.counts[i], "recently dead feature \(i) at \(dead.lastRose)")
            }
        } catch {
            problems.append("\(what): \(error)")
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
            #expect(try DensityStore(path: path, readOnly: true).read { try $0.checkpoints(run: "r") }.last?.step == Self.step(Self.count - 1))
        }
    }
}
