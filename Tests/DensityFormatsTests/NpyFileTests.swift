import DensityFormats
import DensityMetric
import Foundation
import Testing

@Suite struct NpyFileTests {
    /// The activation fixtures that must be read; ``coversEveryActivationFixture()`` checks the list.
    static let activationFixtures = [
        "acts_float16_B4_C2_F3.npy",
        "acts_float32_B4_C2_F3.npy",
        "acts_float64_B4_C2_F3.npy",
        "acts_float32_fortran_B5_F7.npy",
        "acts_bigendian_B3_F4.npy",
        "acts_nonfinite_B2_F3.npy",
    ]

    // MARK: - Fixtures against MANIFEST.json

    @Test func coversEveryActivationFixture() throws {
        let inManifest = try Fixtures.manifest().keys.filter { $0.hasPrefix("acts_") && $0.hasSuffix(".npy") }
        #expect(Set(inManifest) == Set(Self.activationFixtures + ["acts_int32_B2_F3.npy"]))
    }

    @Test(arguments: activationFixtures, [1, 2, 1000])
    func fixtureCountsMatchTheManifest(name: String, maxRowsPerBatch: Int) throws {
        let entry = try Fixtures.entry(name)
        let file = try NpyFile(path: try Fixtures.path(name))
        let shape = file.shape
        #expect(shape.count == 2 || shape.count == 3)
        var metric = try FeatureDensityMetric(numLearnedFeatures: try #require(shape.last),
                                              numComponents: shape.count == 3 ? shape[1] : nil)
        var rowsSeen = 0
        try file.forEachBatch(maxRowsPerBatch: maxRowsPerBatch) { batch in
            #expect(batch.firstRow == rowsSeen)
            #expect(batch.rowCount <= maxRowsPerBatch)
            #expect(Array(batch.shape.dropFirst()) == Array(shape.dropFirst()))
            rowsSeen += batch.rowCount
            try metric.update(batch)
        }
        #expect(rowsSeen == shape[0])
        #expect(metric.state.counts == (try flattenedInts(entry["fired_per_feature"])))
        #expect(metric.state.vectors == (try flattenedInts(entry["batch"])).first)
        #expect(metric.state.nonFinite == (entry["non_finite"] as? NSNumber)?.int64Value ?? 0)
    }

    @Test(arguments: activationFixtures)
    func updateContentsOfMatchesTheManifest(name: String) throws {
        let file = try NpyFile(path: try Fixtures.path(name))
        let shape = file.shape
        var metric = try FeatureDensityMetric(numLearnedFeatures: shape[shape.count - 1],
                                              numComponents: shape.count == 3 ? shape[1] : nil)
        try metric.update(contentsOf: file, maxRowsPerBatch: 2)
        #expect(metric.state.counts == (try flattenedInts(try Fixtures.entry(name)["fired_per_feature"])))
    }

    @Test func fixtureHeadersSayWhatTheNamesSay() throws {
        let fortran = try NpyFile(path: try Fixtures.path("acts_float32_fortran_B5_F7.npy"))
        #expect(fortran.header.fortranOrder)
        #expect(fortran.shape == [5, 7])
        let big = try NpyFile(path: try Fixtures.path("acts_bigendian_B3_F4.npy"))
        #expect(big.header.byteOrder == .big)
        #expect(big.header.dtype == .float32)
        let half = try NpyFile(path: try Fixtures.path("acts_float16_B4_C2_F3.npy"))
        #expect(half.header.dtype == .float16)
        #expect(half.trailingByteCount == 0)
        guard case let .float16(bits) = try half.readAll().values else {
            Issue.record("a float16 file must give float16 values")
            return
        }
        #expect(bits.count == 24)
    }

    @Test func nonFiniteFixtureKeepsNaNAndInfinities() throws {
        let file = try NpyFile(path: try Fixtures.path("acts_nonfinite_B2_F3.npy"))
        guard case let .float32(values) = try file.readAll().values else {
            Issue.record("expected float32 values")
            return
        }
        #expect(values.filter(\.isNaN).count + values.filter(\.isInfinite).count == 3)
        #expect(values.contains(.infinity))
        #expect(values.contains(-.infinity))
    }

    @Test func refusesTheInt32Fixture() throws {
        let path = try Fixtures.path("acts_int32_B2_F3.npy")
        let message = npyErrorMessage { _ = try NpyFile(path: path) }
        #expect(message.contains("acts_int32_B2_F3.npy"))
        #expect(message.contains("activations must be float16, float32 or float64; got int32 ('<i4')"))
        #expect(message.contains("convert with `a.astype(np.float32)`"))
    }

    // MARK: - Streaming

    @Test(arguments: activationFixtures)
    func batchesJoinToTheWholeArray(name: String) throws {
        let file = try NpyFile(path: try Fixtures.path(name))
        let whole = try file.readAll()
        #expect(whole.shape == file.shape)
        for rows in 1...(file.rowCount + 1) {
            let parts = try batches(of: file, maxRowsPerBatch: rows)
            #expect(parts.count == (file.rowCount + rows - 1) / rows)
            #expect(parts.flatMap { rawBytes($0.values) } == rawBytes(whole.values), "batches of \(rows) rows")
            #expect(parts.dropLast().allSatisfy { $0.rowCount == rows })
        }
    }

    @Test func fortranOrderIsTransposedToCOrder() throws {
        try withTemporaryDirectory { directory in
            // The array [[0, 1, 2], [3, 4, 5]] stored column by column: 0 3 1 4 2 5.
            let bytes = NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", fortran: true, shape: "(2, 3)"),
                                      data: NpyBytes.float32([0, 3, 1, 4, 2, 5]))
            let file = try NpyFile(path: try write(bytes, to: "f.npy", in: directory))
            guard case let .float32(values) = try file.readAll().values else {
                Issue.record("expected float32 values")
                return
            }
            #expect(values == [0, 1, 2, 3, 4, 5])
            let rows = try batches(of: file, maxRowsPerBatch: 1).map(\.values)
            #expect(rows.map(rawBytes) == [NpyBytes.float32([0, 1, 2]), NpyBytes.float32([3, 4, 5])])
        }
    }

    @Test func fortranFlagOnAOneDimensionalArrayChangesNothing() throws {
        try withTemporaryDirectory { directory in
            let bytes = NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", fortran: true, shape: "(4,)"),
                                      data: NpyBytes.float32([1, 2, 3, 4]))
            let file = try NpyFile(path: try write(bytes, to: "v.npy", in: directory))
            #expect(try batches(of: file, maxRowsPerBatch: 3).map(\.shape) == [[3], [1]])
            #expect(rawBytes(try file.readAll().values) == NpyBytes.float32([1, 2, 3, 4]))
        }
    }

    @Test func aFileWithNoRowsGivesNoBatches() throws {
        try withTemporaryDirectory { directory in
            let bytes = NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", shape: "(0, 3)"))
            let file = try NpyFile(path: try write(bytes, to: "empty.npy", in: directory))
            #expect(try batches(of: file, maxRowsPerBatch: 4).isEmpty)
            #expect(try file.readAll().values.count == 0)
            var metric = try FeatureDensityMetric(numLearnedFeatures: 3)
            #expect(throws: DensityError.nonPositiveSize(name: "batch", value: 0)) {
                try metric.update(contentsOf: file)
            }
        }
    }

    @Test func updateContentsOfChecksTheShapeFirstAndLeavesTheStateAlone() throws {
        let file = try NpyFile(path: try Fixtures.path("acts_float32_B4_C2_F3.npy"))
        var metric = try FeatureDensityMetric(numLearnedFeatures: 3, numComponents: 4)
        let before = metric
        #expect(throws: DensityError.self) { try metric.update(contentsOf: file) }
        #expect(metric == before)
    }

    @Test func anErrorFromTheBodyStopsTheReading() throws {
        struct Stop: Error {}
        let file = try NpyFile(path: try Fixtures.path("acts_float64_B4_C2_F3.npy"))
        var calls = 0
        #expect(throws: Stop.self) {
            try file.forEachBatch(maxRowsPerBatch: 1) { _ in
                calls += 1
                if calls == 2 { throw Stop() }
            }
        }
        #expect(calls == 2)
    }

    @Test func rowsPerBatchFitsTheTarget() throws {
        let file = try NpyFile(path: try Fixtures.path("acts_float64_B4_C2_F3.npy"))  // 48 bytes a row
        #expect(file.rowWidth == 6)
        #expect(file.rowsPerBatch(targetBytes: 100) == 2)
        #expect(file.rowsPerBatch(targetBytes: 1) == 1)
    }

    // MARK: - Bad files

    @Test func refusesTruncatedData() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: try Fixtures.path("acts_float32_B4_C2_F3.npy")))
        try withTemporaryDirectory { directory in
            let path = try write(Array(original.dropLast(7)), to: "cut.npy", in: directory)
            let message = npyErrorMessage { _ = try NpyFile(path: path) }
            #expect(message.contains("cut.npy' is truncated"))
            #expect(message.contains("shape (4, 2, 3) of float32 needs 96 data bytes, the file has 89 (7 missing)"))
        }
    }

    @Test func refusesATruncatedHeader() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: try Fixtures.path("acts_float32_B4_C2_F3.npy")))
        try withTemporaryDirectory { directory in
            let path = try write(Array(original.prefix(50)), to: "head.npy", in: directory)
            let message = npyErrorMessage { _ = try NpyFile(path: path) }
            #expect(message.contains("head.npy' is truncated inside its .npy header"))
            #expect(message.contains("the header needs 128 bytes, the file has 50"))
        }
    }

    @Test func refusesAFileShortenedAfterItWasOpened() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: try Fixtures.path("acts_float32_B4_C2_F3.npy")))
        try withTemporaryDirectory { directory in
            let path = try write(Array(original), to: "shrinking.npy", in: directory)
            let file = try NpyFile(path: path)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: 128 + 40)
            try handle.close()
            let message = npyErrorMessage { _ = try file.readAll() }
            #expect(message.contains("needs 96 data bytes, the file has 40"))
        }
    }

    @Test func refusesAFileThatIsNotNpy() throws {
        try withTemporaryDirectory { directory in
            let path = try write(Array("col1,col2\n1,2\n".utf8), to: "acts.csv", in: directory)
            let message = npyErrorMessage { _ = try NpyFile(path: path) }
            #expect(message.contains("acts.csv' is not an .npy file"))
            #expect(message.contains("63 6f 6c 31"))
            let empty = try write([], to: "empty.npy", in: directory)
            #expect(npyErrorMessage { _ = try NpyFile(path: empty) }.contains("the file is empty"))
        }
    }

    @Test func refusesTheNpzFixture() throws {
        let message = npyErrorMessage { _ = try NpyFile(path: try Fixtures.path("state_pair.npz")) }
        #expect(message.contains("zip archive (an .npz?)"))
    }

    @Test func refusesAMissingFileAndADirectory() throws {
        try withTemporaryDirectory { directory in
            let missing = directory.appendingPathComponent("nope.npy").path
            let message = npyErrorMessage { _ = try NpyFile(path: missing) }
            #expect(message.contains("cannot read '\(missing)': No such file or directory"))
            #expect(npyErrorMessage { _ = try NpyFile(path: directory.path) }.contains("it is a directory"))
        }
    }

    @Test func acceptsAndCountsTrailingBytes() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: try Fixtures.path("acts_float32_B4_C2_F3.npy")))
        try withTemporaryDirectory { directory in
            let path = try write(Array(original) + [1, 2, 3, 4, 5], to: "long.npy", in: directory)
            let file = try NpyFile(path: path)
            #expect(file.trailingByteCount == 5)
            #expect(rawBytes(try file.readAll().values) == Array(original.dropFirst(128)))
        }
    }
}
