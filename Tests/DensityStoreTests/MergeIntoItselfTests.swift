import DensityMetric
@testable import DensityStore
import Foundation
import Testing

/// A merge whose source is the destination's own file, through the same handle, another handle,
/// or a link, is refused by the library with a typed error, and changes nothing.
@Suite struct MergeIntoItselfTests {
    @Test func mergingAStoreIntoItsOwnFileThrows() throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "r", features: 3)
            try store.appendCheckpoint(run: "r", step: 1, state: try DensityState(features: 3, components: nil, counts: [1, 0, 2], vectors: 2))
            let link = path + ".link"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
            defer { try? FileManager.default.removeItem(atPath: link) }
            let sources = [store, try DensityStore(path: path, readOnly: true), try DensityStore(path: link, readOnly: true)]
            for source in sources {
                #expect(throws: StoreError.mergeIntoItself(path: path)) { _ = try store.merge(from: [source]) }
            }
            #expect(try store.read { try $0.checkpoints(run: "r") }.map(\.step) == [1])
            #expect(!StoreError.mergeIntoItself(path: path).description.contains("--"))
        }
    }
}
