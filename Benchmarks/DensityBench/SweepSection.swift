// Section "sweep": `density runs` over a sweep of 64 runs of 16,384 features x 1,000 checkpoints
// in 8 stores (the issue's target: <= 0.5 s), against the same command on one of the stores.

import DensityMetric
import DensityStore
import Foundation

func runSweepSection(_ options: BenchOptions) {
    guard let density = options.density.map(URL.init(fileURLWithPath:)) ?? Subprocess.densityBinary else {
        print("skipped: no `density` binary beside this benchmark; build it first (swift build -c release --product density)")
        return
    }
    let (stores, runsPerStore, checkpoints, width) = options.smoke ? (2, 2, 20, 1024) : (8, 8, 1000, 16_384)
    let folder = benchFolder.appendingPathComponent("sweep-\(stores)x\(runsPerStore)x\(checkpoints)x\(width)")
    let done = folder.appendingPathComponent("complete")
    if !FileManager.default.fileExists(atPath: done.path) {
        try? FileManager.default.removeItem(at: folder)
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: stores) { index in
            let store = try! DensityStore(path: folder.appendingPathComponent("node-\(index).sqlite").path, durable: false)
            for run in 0..<runsPerStore {
                let name = "l1-\(run)-seed-\(index)"
                try! store.createRun(name: name, features: width, metadata: #"{"l1": \#(run), "seed": \#(index)}"#)
                var simulation = RunSimulation(features: width, stepsPerCheckpoint: 10, seed: UInt64(index * 100 + run))
                for _ in 0..<checkpoints {
                    let state = simulation.next()
                    try! store.appendCheckpoint(run: name, step: simulation.step, state: state)
                }
            }
        }
        FileManager.default.createFile(atPath: done.path, contents: nil)
        print("built the fixture in \(fixed((ContinuousClock.now - started).seconds, 0)) s (kept in --work-dir when given)")
    }
    let repeats = options.repeats(default: 5)
    let all = ["runs", "--db", folder.path + "/*.sqlite", "--format", "json"]
    let one = ["runs", "--db", folder.appendingPathComponent("node-0.sqlite").path, "--format", "json"]
    var allTimes: [Double] = [], oneTimes: [Double] = []
    _ = Subprocess.run(density, all)
    for _ in 0..<repeats {
        let usage = Subprocess.run(density, all)
        precondition(usage.status == 0, "density runs failed: \(usage.stderr)")
        allTimes.append(usage.wall.seconds)
        oneTimes.append(Subprocess.run(density, one).wall.seconds)
    }
    var table = Table("stores", "runs", "checkpoints / run", "features", "runs --format json s (all)", "one store s", "ratio",
                      leftAligned: 0)
    table.add(String(stores), String(stores * runsPerStore), String(checkpoints), String(width), fixed(median(allTimes), 3),
              fixed(median(oneTimes), 3), fixed(median(allTimes) / median(oneTimes), 2))
    print(table.render())
    print("""

        Wall time of `density runs --db '<folder>/*.sqlite' --format json` (process start to exit, the median of \(repeats)),
        against the same on one store of the \(stores); the target for all is <= 0.5 s.
        """)
}

/// The median of some values.
private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
