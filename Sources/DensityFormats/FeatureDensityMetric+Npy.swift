public import DensityMetric

extension FeatureDensityMetric {
    /// Adds a batch read from an `.npy` file, whatever its element type.
    /// - Parameter batch: A batch from ``NpyFile/forEachBatch(maxRowsPerBatch:_:)`` or ``NpyFile/readAll()``.
    /// - Throws: `DensityError` when the batch's shape does not fit the metric; the state is then unchanged.
    public mutating func update(_ batch: NpyBatch) throws {
        switch batch.values {
        case let .float16(values):
            try values.withUnsafeBufferPointer { try update(float16BitPatterns: $0, shape: batch.shape) }
        case let .float32(values):
            try update(values, shape: batch.shape)
        case let .float64(values):
            try update(values, shape: batch.shape)
        }
    }

    /// Adds every row of an `.npy` file, streaming it in batches; all or nothing.
    ///
    /// The shape is checked before any data is read. The update is applied to a copy that replaces
    /// the metric only when the whole file was read, so an I/O error leaves the state unchanged.
    /// - Parameters:
    ///   - file: An opened `.npy` file of shape `[batch, features]` or `[batch, components, features]`.
    ///   - maxRowsPerBatch: Rows per batch; `nil` picks batches of about 16 MiB.
    /// - Throws: `DensityError` when the shape does not fit the metric (or the file has no rows),
    ///   ``NpyError`` when reading fails.
    public mutating func update(contentsOf file: NpyFile, maxRowsPerBatch: Int? = nil) throws {
        _ = try batchSize(ofShape: file.shape, valueCount: file.header.elementCount)
        var copy = self
        try file.forEachBatch(maxRowsPerBatch: maxRowsPerBatch ?? file.rowsPerBatch(targetBytes: 16 << 20)) {
            try copy.update($0)
        }
        self = copy
    }
}
