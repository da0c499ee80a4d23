// Section "record": the whole write path. Frames of int64 states go through a pipe into a
// `density record` process, which stores each durably; against writing the same frames to a file
// with an fsync each, in the same run. Then the peak memory of the other commands at that width.

import DensityFormats
import DensityMetric
import DensityStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

func runRecordSection(_ options: BenchOptions) {
    guard let density = options.density.map(URL.init(fileURLWithPath:)) ?? Subprocess.densityBinary else {
        print("skipped: no `density` binary beside this benchmark; build it first (swift build -c release --product density)")
        return
    }
    let widths = !options.features.isEmpty ? options.features : options.smoke ? [16_384] : [1_048_576, 16_777_216]
    let repeats = options.repeats(default: 3)
    var table = Table("features", "frames", "record ms/state", "write+fsync ms/frame", "ratio", "record CPU ms/state",
                      "start + resume ms", "peak RSS", "RSS / state", leftAligned: 0)
    var queries = Table("command at 16M features", "wall s", "CPU s", "peak RSS", "RSS / state", leftAligned: 1)
    for width in widths {
        // 32 frames at 1M (31 deltas and the 32nd checkpoint's keyframe, the default interval);
        // 6 deltas at 16M, where every frame is 128 MiB in the benchmark's memory.
        let frameCount = options.smoke ? 8 : (width <= 1 << 20 ? 33 : 6)
        var simulation = RunSimulation(features: width, stepsPerCheckpoint: 1)
        let first = (step: simulation.step, state: simulation.state)
        let frames = (0..<frameCount).map { _ in
            let state = simulation.next()
            return StateFrameReader.frame(stateFile(state, step: simulation.step))
        }
        let stateBytes = width * 8
        var perState: [Double] = [], cpuPerState: [Double] = [], rawPerFrame: [Double] = [], startup: [Double] = []
        var ratios: [Double] = []
        var peak = 0
        var lastStore = ""
        for _ in 0..<repeats {
            // Baseline: the same frames appended to a file, an fsync after each.
            let rawPath = benchFolder.appendingPathComponent("frames.bin").path
            let clock = ContinuousClock()
            let raw = clock.measure {
                let fd = open(rawPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                precondition(fd >= 0, "cannot open \(rawPath)")
                for frame in frames {
                    frame.withUnsafeBytes { writeFully(fd, $0) }
                    precondition(fsync(fd) == 0, "fsync failed")
                }
                close(fd)
            }
            try? FileManager.default.removeItem(atPath: rawPath)
            // The recorder, once with one frame (start, open, read the previous checkpoint back) and
            // once with all: the difference is the cost per state once it runs.
            var usages: [Subprocess.Usage] = []
            for count in [1, frameCount] {
                let path = freshStore(width: width, first: first)
                let recorder = Subprocess(density, ["record", "--db", path, "bench"], pipeInput: true)
                for frame in frames.prefix(count) { frame.withUnsafeBytes(recorder.write) }
                let usage = recorder.wait()
                precondition(usage.status == 0, "density record failed (\(usage.status)): \(usage.stderr)")
                usages.append(usage)
                lastStore = path
            }
            let marginal = (usages[1].wall - usages[0].wall).seconds / Double(frameCount - 1)
            perState.append(marginal)
            cpuPerState.append((usages[1].cpu - usages[0].cpu).seconds / Double(frameCount - 1))
            rawPerFrame.append(raw.seconds / Double(frameCount))
            ratios.append(marginal / (raw.seconds / Double(frameCount)))
            startup.append(usages[0].wall.seconds - marginal)
            peak = max(peak, usages[1].peakRSS)
        }
        table.add(String(width), String(frameCount), fixed(median(perState) * 1e3, 1), fixed(median(rawPerFrame) * 1e3, 1),
                  fixed(median(ratios), 2), fixed(median(cpuPerState) * 1e3, 1), fixed(median(startup) * 1e3, 0),
                  bytes(peak), fixed(Double(peak) / Double(stateBytes), 2))
        if width >= 1 << 24 {
            measureQueries(density, store: lastStore, width: width, next: simulation.next(),
                           step: simulation.step, into: &queries)
        }
    }
    print(table.render())
    print("""

        record ms/state: (wall of a recorder fed all frames - wall of one fed the first frame) / (frames - 1), the
        median of \(repeats) runs, each against the frames written to a file with an fsync after each in the same run
        (ratio: per run, then the median). start + resume: process start, store open and the first frame's read of the
        previous checkpoint. CPU: the recorder's user + system time (all threads). Peak RSS: the recorder's VmHWM;
        one state is features x 8 bytes of int64 counts.
        """)
    if !queries.rows.isEmpty {
        print("")
        print(queries.render())
        print("\nEach command is its own process on the record run's store (a keyframe and 6 deltas); peak RSS is its VmHWM.")
    }
}

/// The median of some values.
private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// A `.safetensors` payload of a state as a training loop sends it: int64 counts, vectors, step.
func stateFile(_ state: DensityState, step: Int64) -> [UInt8] {
    var writer = SafetensorsWriter()
    try! writer.add(TorchMetricsState.countsName, shape: [state.features], values: .int64(state.counts))
    try! writer.add(TorchMetricsState.vectorsName, shape: [], values: .int64([state.vectors]))
    try! writer.add(TorchMetricsState.stepName, shape: [], values: .int64([step]))
    return writer.bytes()
}

/// A new store holding the run `bench` with its first checkpoint (a keyframe), closed again so a
/// recorder can take the run's lock.
func freshStore(width: Int, first: (step: Int64, state: DensityState), name: String = "record") -> String {
    let path = benchFolder.appendingPathComponent("\(name)-\(width).sqlite").path
    for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    let store = try! DensityStore(path: path)
    try! store.createRun(name: "bench", features: width)
    try! store.appendCheckpoint(run: "bench", step: first.step, state: first.state)
    return path
}

/// Runs each command once on `store` and adds its wall, CPU and peak RSS to `table`.
private func measureQueries(_ density: URL, store: String, width: Int, next: DensityState, step: Int64,
                            into table: inout Table) {
    let statePath = benchFolder.appendingPathComponent("next-state.safetensors").path
    _ = FileManager.default.createFile(atPath: statePath, contents: Data(stateFile(next, step: step)))
    defer { try? FileManager.default.removeItem(atPath: statePath) }
    let out = benchFolder.appendingPathComponent("query-out").path
    let commands: [[String]] = [
        ["checkpoint", "bench", statePath],
        ["show", "bench"],
        ["state", "bench", "--dtype", "int64", "--out", out + ".safetensors", "--force"],
        ["diff", "bench", "--from", "-3"],
        ["histogram", "bench"],
        ["histogram", "bench", "--from", "-3"],
        ["trend", "bench", "--feature", "12345"],
        ["report", "bench", "--out", out + ".html", "--force"],
    ]
    for arguments in commands {
        let usage = Subprocess.run(density, Array(arguments.prefix(2)) + ["--db", store] + arguments.dropFirst(2))
        table.add(arguments.joined(separator: " "), fixed(usage.wall.seconds, 2), fixed(usage.cpu.seconds, 2),
                  bytes(usage.peakRSS), fixed(Double(usage.peakRSS) / Double(width * 8), 2))
    }
    for suffix in [".safetensors", ".html"] { try? FileManager.default.removeItem(atPath: out + suffix) }
}
