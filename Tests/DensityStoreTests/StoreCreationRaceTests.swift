@testable import DensityStore
import Foundation
import Testing

/// A reader that opens a store while another handle is still creating it waits for the schema,
/// instead of answering that the store has an older schema and needs migrating.
@Suite struct StoreCreationRaceTests {
    @Test func aReaderWaitsForAStoreBeingCreated() throws {
        try withTemporaryPath { path in
            // What a reader meets in the moment `density create` has made the file but not its schema.
            try Connection(path: path).execute("PRAGMA user_version = 0")
            #expect(FileManager.default.fileExists(atPath: path))
            let creator = Thread {
                Thread.sleep(forTimeInterval: 0.3)
                _ = try? DensityStore(path: path)  // creates the schema
            }
            creator.start()
            let reader = try DensityStore(path: path, readOnly: true)
            #expect(try reader.read { try $0.runs() }.isEmpty)
        }
    }

    @Test func aFileThatNeverGetsASchemaSaysSo() throws {
        try withTemporaryPath { path in
            try Connection(path: path).execute("PRAGMA user_version = 0")
            let error = #expect(throws: StoreError.self) { _ = try DensityStore(path: path, readOnly: true) }
            #expect(error == .notCreatedYet(path: path))
            #expect(error?.description.contains("being created") == true)
        }
    }
}
