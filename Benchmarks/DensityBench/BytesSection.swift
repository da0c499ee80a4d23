// Section "bytes": what per-step history costs on disk.

import DensityMetric
import DensityStore
import Foundation

func runBytesSection(_ options: BenchOptions) {
    let features = options.smoke ? 16_384 : 1_048_576
    let checkpoints = options.smoke ? 32 : 64  // whole keyframe periods (32), so keyframes are amortized
    var table = Table("checkpoint every", "checkpoints", "blob B/feature", "on-disk B/feature", "vs raw int64", "vs float32",
                      leftAligned: 1)
    for stepsPerCheckpoint in [1, 100] {
        var simulation = RunSimulation(features: features, stepsPerCheckpoint: stepsPerCheckpoint)
        let path = benchFolder.appendingPathComponent("bytes-\(stepsPerCheckpoint).sqlite").path
        let store = try! DensityStore(path: path, durable: false)
        try! store.createRun(name: "bench", features: features)
        let before = usedBytes(path)
        for _ in 0..<checkpoints {
            let state = simulation.next()
            try! store.appendCheckpoint(run: "bench", step: simulation.step, state: state)
        }
        let perFeature = Double(usedBytes(path) - before) / Double(checkpoints * features)
        let blobs = Double(blobBytes(path)) / Double(checkpoints * features)
        table.add("\(stepsPerCheckpoint) step\(stepsPerCheckpoint == 1 ? "" : "s") (batch 4096)", String(checkpoints),
                  fixed(blobs, 3), fixed(perFeature, 3), fixed(perFeature / 8, 3), fixed(perFeature / 4, 3))
    }
    print(table.render())
    print("""

        \(features) features, counts as after 50,000 training steps; a keyframe every 32 checkpoints \
        included. Baselines: raw int64 counts are 8 B/feature, float32 torch.save is 4.
        """)
}
