// Section "checkpoint": the cost of one durable checkpoint of a wide run.

import DensityMetric
import DensityStore
import Foundation

func runCheckpointSection(_ options: BenchOptions) {
    let features = options.smoke ? 16_384 : 1_048_576
    let repeats = options.repeats(default: 9)
    var simulation = RunSimulation(features: features, stepsPerCheckpoint: 1)
    var table = Table("what", "median ms", "vs raw+fsync", "CPU ms", leftAligned: 1)

    // Baseline: the raw int64 counts written to a plain file and fsync'ed.
    let rawPath = benchFolder.appendingPathComponent("raw-counts.bin").path
    let raw = measure(repeats: repeats) {
        simulation.state.counts.withUnsafeBytes { bytes in
            let fd = open(rawPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            precondition(fd >= 0, "cannot open \(rawPath)")
            writeFully(fd, bytes)
            precondition(fsync(fd) == 0, "fsync failed")
            close(fd)
            return UInt64(bytes.count)
        }
    }
    table.add("raw int64 counts to a file + fsync (\(bytes(features * 8)))", fixed(raw.seconds * 1e3, 2), "1.00",
              fixed(raw.cpuSeconds * 1e3, 2))

    // A delta checkpoint: encode against the previous state, insert, commit with synchronous = FULL.
    // The same delta without the commit's fsync (synchronous = NORMAL) splits the cost into the
    // work before the commit and the fsync itself.
    for (label, interval, durable) in [("delta checkpoint (encode + durable commit)", 65_536, true),
                                       ("keyframe checkpoint (encode + durable commit)", 1, true),
                                       ("delta checkpoint without the fsync (synchronous = NORMAL)", 65_536, false)] {
        let path = benchFolder.appendingPathComponent("checkpoint-\(interval)-\(durable).sqlite").path
        let store = try! DensityStore(path: path, durable: durable)
        try! store.createRun(name: "bench", features: features, keyframeInterval: interval)
        try! store.appendCheckpoint(run: "bench", step: simulation.step, state: simulation.state)
        // States are drawn before timing; each timed call appends the next one.
        let states = (0...repeats).map { _ in simulation.next() }
        var next = 0
        var step = simulation.step - Int64(states.count)
        let timing = measure(repeats: repeats) {
            step += 1
            defer { next += 1 }
            return UInt64(try! store.appendCheckpoint(run: "bench", step: step, state: states[next]).id)
        }
        table.add(label, fixed(timing.seconds * 1e3, 2), fixed(timing.seconds / raw.seconds, 2), fixed(timing.cpuSeconds * 1e3, 2))
    }
    print(table.render())
    print("\n\(features) features; ratio < 1 means a checkpoint is cheaper than writing its raw counts durably. CPU ms: the")
    print("process's CPU time (all threads) per checkpoint, which other processes on the machine do not inflate.")
}
