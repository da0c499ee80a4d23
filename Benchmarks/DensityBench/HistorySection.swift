// Sections "trend" and "diff": reading the history of a long, wide run.

import DensityMetric
import DensityStore
import Foundation
import Synchronization

/// A run of many checkpoints, built once and shared by the two sections.
struct HistoryFixture: Sendable {
    let path: String
    let store: DensityStore
    let steps: [Int64]
    let features: Int

    static let shared = Mutex<HistoryFixture?>(nil)

    static func get(_ options: BenchOptions) -> HistoryFixture {
        if let built = shared.withLock({ $0 }) { return built }
        let features = options.smoke ? 16_384 : 1_048_576
        let count = options.smoke ? 200 : 10_000
        let path = benchFolder.appendingPathComponent("history-\(features)x\(count).sqlite").path
        if FileManager.default.fileExists(atPath: path), let reader = try? DensityStore(path: path, readOnly: true),
           let steps = try? reader.read { try $0.checkpoints(run: "bench") }.map(\.step), steps.count == count {
            print("fixture: reusing \(path) (\(count) checkpoints of \(features) features)\n")
            let fixture = HistoryFixture(path: path, store: reader, steps: steps, features: features)
            shared.withLock { $0 = fixture }
            return fixture
        }
        try? FileManager.default.removeItem(atPath: path)
        // Built with synchronous = NORMAL (crash-safe, not power-loss-safe): only the reads are measured.
        let store = try! DensityStore(path: path, durable: false)
        try! store.createRun(name: "bench", features: features)
        var simulation = RunSimulation(features: features, stepsPerCheckpoint: 1)
        var steps: [Int64] = []
        let clock = ContinuousClock()
        let start = clock.now
        for index in 0..<count {
            let state = simulation.next()
            try! store.appendCheckpoint(run: "bench", step: simulation.step, state: state)
            steps.append(simulation.step)
            if (index + 1) % 1000 == 0 {
                print("  built \(index + 1)/\(count) checkpoints (\(fixed((clock.now - start).seconds, 0)) s)")
            }
        }
        print("fixture: \(count) checkpoints of \(features) features, \(bytes(Int(usedBytes(path)))) on disk, built in \(fixed((clock.now - start).seconds, 1)) s\n")
        let fixture = HistoryFixture(path: path, store: try! DensityStore(path: path, readOnly: true),
                                     steps: steps, features: features)
        shared.withLock { $0 = fixture }
        return fixture
    }
}

func runTrendSection(_ options: BenchOptions) {
    let fixture = HistoryFixture.get(options)
    let repeats = options.repeats(default: 5)
    let feature = fixture.features / 3 + 7
    let trend = measure(repeats: repeats) {
        UInt64(bitPattern: try! fixture.store.read { try $0.trend(run: "bench", feature: feature) }.last!.count)
    }
    // Baseline: decoding every whole checkpoint, estimated as the number of checkpoints times the
    // median cost of decoding one keyframe checkpoint (a keyframe is one whole checkpoint).
    let keyframes = try! fixture.store.read { try $0.checkpoints(run: "bench") }.filter { $0.deltaDepth == 0 }.prefix(8)
    var index = 0
    let oneWhole = measure(repeats: min(repeats, keyframes.count - 1)) {
        defer { index = (index + 1) % keyframes.count }
        return UInt64(bitPattern: try! fixture.store.read { try $0.state(run: "bench", at: .exact(keyframes[keyframes.startIndex + index].step)) }.state.vectors)
    }
    let allWhole = oneWhole.seconds * Double(fixture.steps.count)
    var table = Table("what", "seconds", "vs decoding every checkpoint", leftAligned: 1)
    table.add("decode \(fixture.steps.count) whole checkpoints (\(fixture.steps.count) x one keyframe decode, \(fixed(oneWhole.seconds * 1e3, 1)) ms)",
              fixed(allWhole, 2), "1.00")
    table.add("trend of feature \(feature) over \(fixture.steps.count) checkpoints (warm)", fixed(trend.seconds, 3),
              fixed(trend.seconds / allWhole, 4))
    print(table.render())
    print("checksum \(trend.checksum &+ oneWhole.checksum)")
}

func runDiffSection(_ options: BenchOptions) {
    let fixture = HistoryFixture.get(options)
    let steps = fixture.steps
    let span = 10
    // 32 consecutive windows in each region cover every offset within a keyframe period.
    let windows = 32
    let early = options.smoke ? 10 : 100
    let late = steps.count - span - windows - 10
    func time(from first: Int) -> (Measurement, Double) {
        var offset = 0
        let m = measure(repeats: windows - 1) {
            defer { offset += 1 }
            let a = steps[first + offset], b = steps[first + offset + span]
            return UInt64(bitPattern: try! fixture.store.read { try $0.window(run: "bench", WindowSpec(from: .exact(a), to: .exact(b))) }.state.vectors)
        }
        let mean = m.samples.map(\.seconds).reduce(0, +) / Double(m.samples.count)
        return (m, mean)
    }
    let (startWindows, startMean) = time(from: early)
    let (endWindows, endMean) = time(from: late)
    var table = Table("windows of \(span) checkpoints", "mean ms", "median ms", "vs near the start", leftAligned: 1)
    table.add("near the start (checkpoints \(early)...\(early + windows + span))", fixed(startMean * 1e3, 2),
              fixed(startWindows.seconds * 1e3, 2), "1.00")
    table.add("near the end (checkpoints \(late)...\(late + windows + span))", fixed(endMean * 1e3, 2),
              fixed(endWindows.seconds * 1e3, 2), fixed(endMean / startMean, 2))
    print(table.render())
    print("checksum \(startWindows.checksum &+ endWindows.checksum)")
}
