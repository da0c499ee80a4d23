// Section "dead": dead features with their last-fired steps, and the reads a report makes,
// each against a same-run baseline, a full-run window diff.

import DensityMetric
import DensityStore
import Foundation

/// A run of `count` checkpoints of `features` features (the history fixture's workload), built
/// in the bench folder.
func buildDeadFixture(features: Int, count: Int) -> DensityStore {
    let path = benchFolder.appendingPathComponent("dead-\(features)x\(count).sqlite").path
    if let reader = try? DensityStore(path: path, readOnly: true),
       (try? reader.read { try $0.checkpoints(run: "bench") }.count) == count {
        return reader
    }
    try? FileManager.default.removeItem(atPath: path)
    let store = try! DensityStore(path: path, durable: false)
    try! store.createRun(name: "bench", features: features)
    var simulation = RunSimulation(features: features, stepsPerCheckpoint: 1)
    for _ in 0..<count {
        let state = simulation.next()
        try! store.appendCheckpoint(run: "bench", step: simulation.step, state: state)
    }
    return try! DensityStore(path: path, readOnly: true)
}

/// Times `dead` (whole run, and the last 100 checkpoints) and a full-run window diff on one store.
func deadRows(_ store: DensityStore, label: String, repeats: Int, report: Bool, into table: inout Table) -> UInt64 {
    let steps = try! store.read { try $0.checkpoints(run: "bench") }.map(\.step)
    let late = steps[max(0, steps.count - 101)]
    var bodies: [(String, () -> UInt64)] = [
        ("full-run window diff (baseline)", { UInt64(bitPattern: try! store.read { try $0.window(run: "bench", WindowSpec(from: .start, to: .exact(steps.last!))) }.state.vectors) }),
        ("dead, whole run", { UInt64(try! store.read { try $0.deadFeatures(run: "bench") }.dead.count) }),
        ("dead --window -100:latest", { UInt64(try! store.read { try $0.deadFeatures(run: "bench", in: .steps(WindowSpec(from: .exact(late), to: .latest))) }.dead.count) }),
    ]
    if report {
        // What `density report` reads from the store by default, in its one read: every stored
        // summary, the movers and most recently dead of the last quarter against the window
        // before, and the trends of the features picked.
        bodies.append(("report's read (summaries, movers, recently dead, trends)", {
            let report = try! store.read { try $0.report(run: "bench", from: nil, to: nil, features: nil, top: 2) }
            return UInt64(report.summaries.count + report.trends.values.reduce(0) { $0 + $1.count })
        }))
    }
    let measured = measureInterleaved(repeats: repeats, bodies.map(\.1))
    for (index, (name, _)) in bodies.enumerated() {
        let m = measured[index]
        let cpu = m.cpuSeconds > 0 ? fixed(m.cpuSeconds, 3) : "-"
        table.add("\(label): \(name)", fixed(m.seconds, 3), cpu, fixed(m.seconds / measured[0].seconds, 2))
    }
    return measured.reduce(0) { $0 &+ $1.checksum }
}

func runDeadSection(_ options: BenchOptions) {
    let repeats = options.repeats(default: 3)
    var table = Table("what", "seconds", "cpu seconds", "vs the full-run diff", leftAligned: 1)
    let small = options.smoke ? (features: 4096, count: 150) : (features: 65_536, count: 1_500)
    let store = buildDeadFixture(features: small.features, count: small.count)
    var checksum = deadRows(store, label: "\(small.features) x \(small.count)", repeats: repeats, report: false, into: &table)
    let fixture = HistoryFixture.get(options)
    checksum &+= deadRows(fixture.store, label: "\(fixture.features) x \(fixture.steps.count)",
                          repeats: options.smoke ? repeats : 1, report: true, into: &table)
    print(table.render())
    print("checksum \(checksum)")
}
