// Section "mirror": what `density record --mirror DIR` costs the recorder. The same frames go
// through a pipe into a recorder without a mirror and into one mirroring every "60 s", in turn;
// the mirror's snapshots run on a thread of their own, so they cost the recorder only what they
// take of the machine (CPU, disk) while it records.
//
// The interval is scaled so the run is short but a snapshot still covers as many states as in
// training: a training loop recording one state a second snapshots every 60 states at
// --mirror-every 60, so here, where frames arrive as fast as the recorder stores them, the
// interval is 60 times the recorder's own time per state without a mirror (measured first).

import DensityFormats
import DensityMetric
import DensityStore
import Foundation

func runMirrorSection(_ options: BenchOptions) {
    guard let density = options.density.map(URL.init(fileURLWithPath:)) ?? Subprocess.densityBinary else {
        print("skipped: no `density` binary beside this benchmark; build it first (swift build -c release --product density)")
        return
    }
    let width = options.features.first ?? (options.smoke ? 16_384 : 1_048_576)
    let frameCount = options.smoke ? 24 : 180
    let statesPerSnapshot = 60.0
    let repeats = options.repeats(default: 3)
    var simulation = RunSimulation(features: width, stepsPerCheckpoint: 1)
    let first = (step: simulation.step, state: simulation.state)
    let frames = (0..<frameCount).map { _ in
        let state = simulation.next()
        return StateFrameReader.frame(stateFile(state, step: simulation.step))
    }
    let mirrors = options.mirrorDirectory.map { URL(fileURLWithPath: $0) } ?? benchFolder.appendingPathComponent("mirrors")
    try? FileManager.default.createDirectory(at: mirrors, withIntermediateDirectories: true)
    /// Feeds every frame to a recorder; returns its wall time per state and its stderr.
    func record(_ extra: [String]) -> (perState: Double, cpu: Double, stderr: String, store: String) {
        let path = freshStore(width: width, first: first, name: "mirror")
        try? FileManager.default.removeItem(at: mirrors.appendingPathComponent("mirror-\(width).sqlite"))
        let recorder = Subprocess(density, ["record", "--db", path, "bench"] + extra, pipeInput: true)
        for frame in frames { frame.withUnsafeBytes(recorder.write) }
        let usage = recorder.wait()
        precondition(usage.status == 0, "density record failed (\(usage.status)): \(usage.stderr)")
        return (usage.wall.seconds / Double(frameCount), usage.cpu.seconds / Double(frameCount), usage.stderr, path)
    }
    _ = record([])  // warm-up: page cache, the binary
    var plain: [Double] = [], mirrored: [Double] = [], ratios: [Double] = [], intervals: [Double] = []
    var plainCPU: [Double] = [], mirroredCPU: [Double] = [], snapshots: [Int] = [], lastSnapshot: [Double] = []
    var steadyRatios: [Double] = []
    let spare = mirrors.appendingPathComponent("spare-mirror")
    try? FileManager.default.createDirectory(at: spare, withIntermediateDirectories: true)
    for _ in 0..<repeats {
        let without = record([])
        let interval = without.perState * statesPerSnapshot
        let with = record(["--mirror", mirrors.path, "--mirror-every", String(format: "%.3f", interval)])
        plain.append(without.perState)
        mirrored.append(with.perState)
        plainCPU.append(without.cpu)
        mirroredCPU.append(with.cpu)
        ratios.append(with.perState / without.perState)
        // The snapshot at exit, timed alone on the same final store: once per run, however long.
        try? FileManager.default.removeItem(at: spare.appendingPathComponent("mirror-\(width).sqlite"))
        let mirror = try! StoreMirror(source: with.store, folder: spare.path)
        let last = ContinuousClock().measure { _ = try! mirror.write() }.seconds
        lastSnapshot.append(last)
        steadyRatios.append((with.perState - last / Double(frameCount)) / without.perState)
        intervals.append(interval)
        // "mirrored to '…' (N snapshots, …)"
        let count = with.stderr.split(separator: "(").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) } ?? -1
        snapshots.append(count)
    }
    let mirrorFile = mirrors.appendingPathComponent("mirror-\(width).sqlite").path
    let size = (try? FileManager.default.attributesOfItem(atPath: mirrorFile)[.size] as? Int) ?? 0
    if options.mirrorDirectory != nil {  // a folder of the caller's: leave it as it was
        try? FileManager.default.removeItem(atPath: mirrorFile)
        try? FileManager.default.removeItem(at: spare)
    }
    var table = Table("features", "frames", "no mirror ms/state", "mirror ms/state", "ratio", "no mirror CPU ms/state",
                      "mirror CPU ms/state", "interval s", "snapshots", "mirror size", "last snapshot ms", "ratio w/o last",
                      leftAligned: 0)
    table.add(String(width), String(frameCount), fixed(median(plain) * 1e3, 1), fixed(median(mirrored) * 1e3, 1),
              fixed(median(ratios), 3), fixed(median(plainCPU) * 1e3, 1), fixed(median(mirroredCPU) * 1e3, 1),
              fixed(median(intervals), 2), snapshots.map(String.init).joined(separator: "/"), bytes(size),
              fixed(median(lastSnapshot) * 1e3, 0), fixed(median(steadyRatios), 3))
    print(table.render())
    print("""

        ms/state: the recorder's wall time (start to exit, the last snapshot included) / frames, fed as fast as it
        stores them; the median of \(repeats) runs without and with --mirror in turn (ratio: per pair, then the
        median; the target is <= 1.05). Mirrors went to \(options.mirrorDirectory.map { "--mirror-dir \($0)" } ?? "a folder beside the stores, on the same disk"). The interval is \(Int(statesPerSnapshot)) x the run's own ms/state without a mirror:
        60 s at one state a second. snapshots: per run with a mirror, the last one (at exit) included. last snapshot:
        one snapshot of the final store timed alone, what the exit adds once per run; ratio w/o last: the ratio with
        that taken out, the steady cost per state of a long run.
        """)
}

/// The median of some values.
private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
