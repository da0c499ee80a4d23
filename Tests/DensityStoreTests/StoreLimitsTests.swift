import Foundation
import Testing
@testable import DensityStore

/// The store's explicit bounds: refused with a clear message when a run is created, and when a
/// damaged run row claims more, before anything is sized from it.
@Suite struct StoreLimitsTests {
    @Test func runsPastTheLimitsAreRefusedAtCreation() throws {
        let store = try DensityStore(path: ":memory:")
        let cases: [(features: Int, components: Int?, chunk: Int, keyframes: Int, mention: String)] = [
            (StoreLimits.maxRunWidth + 1, nil, 8192, 32, "at most 1073741824"),
            (1 << 20, 1 << 11, 8192, 32, "got 1048576 x 2048"),
            (Int.max, 2, 8192, 32, "at most 1073741824"),
            (100, nil, StoreLimits.maxChunkFeatures + 1, 32, "the features per chunk must be at most 1048576"),
            (100, nil, 8192, StoreLimits.maxKeyframeInterval + 1, "the keyframe interval must be at most 65536"),
        ]
        for limit in cases {
            let error = #expect(throws: StoreError.self) {
                try store.createRun(name: "r", features: limit.features, components: limit.components,
                                    chunkFeatures: limit.chunk, keyframeInterval: limit.keyframes)
            }
            #expect(error?.description.contains(limit.mention) == true, "\(String(describing: error))")
        }
        // At the limit itself it is accepted (nothing is allocated until a checkpoint).
        try store.createRun(name: "widest", features: StoreLimits.maxRunWidth / 4, components: 4,
                            chunkFeatures: StoreLimits.maxChunkFeatures, keyframeInterval: StoreLimits.maxKeyframeInterval)
        #expect(try store.read { try $0.runs() }.count == 1)
    }

    @Test func aDamagedRunRowIsRefusedBeforeAnythingIsSizedFromIt() throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "r", features: 10)
            try store.createRun(name: "fine", features: 10)
            try Connection(path: path).execute("UPDATE runs SET features = ? WHERE name = 'r'", [.integer(1 << 40)])
            let error = #expect(throws: StoreError.self) { try store.read { try $0.state(run: "r") } }
            #expect(error?.description.contains("run 'r' has settings outside this build's limits") == true)
            let report = try store.verify()
            #expect(report.problems.map(\.run) == ["r"])
            #expect(try store.read { try $0.run(named: "fine") }.features == 10)
        }
    }
}
