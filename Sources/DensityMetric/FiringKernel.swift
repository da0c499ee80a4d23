/// The counting kernel behind ``FeatureDensityMetric/update(_:shape:)``: one pass over a
/// row-major `[rows, width]` buffer that adds, per column, the number of rows whose value is
/// `> threshold`, and returns how many values were not finite.
///
/// Memory-bound by design: the activations are read once, in row order within a tile of columns,
/// while a tile of 32-bit per-column accumulators stays in the L1 cache; the tile is folded into
/// the 64-bit counts once per tile. The inner loops are branch-free so the optimizer turns them
/// into SIMD compares and subtractions.
package enum FiringKernel {
    /// Columns per tile: 4096 accumulators of 4 bytes = 16 KiB, well inside L1.
    package static let tileWidth = 4096

    /// Counts firings of `Float` values.
    /// - Parameters:
    ///   - values: `rows * width` values, row-major.
    ///   - rows: The batch size.
    ///   - width: Values per row (components x features).
    ///   - threshold: A value fires when it is strictly greater.
    ///   - counts: `width` counts to add to.
    /// - Returns: The number of NaN and infinite values.
    package static func accumulate(
        _ values: UnsafePointer<Float>, rows: Int, width: Int, threshold: Float,
        into counts: UnsafeMutablePointer<Int64>
    ) -> Int64 {
        withTile { tileBuffer in
            let accumulators = tileBuffer.baseAddress!
            var nonFinite: Int64 = 0
            var start = 0
            while start < width {
                let tile = min(tileWidth, width - start)
                // Per row, a 32-bit accumulator cannot overflow before 2^32 rows: split larger batches.
                var row = 0
                while row < rows {
                    let rowEnd = min(rows, row + Int(UInt32.max))
                    for r in row..<rowEnd {
                        nonFinite &+= countRow(values + r * width + start, tile, threshold, accumulators)
                    }
                    fold(accumulators, tile, into: counts + start)  // also zeroes the tile
                    row = rowEnd
                }
                start += tile
            }
            return nonFinite
        }
    }

    /// Counts firings of `Double` values (from float64 files), compared in double precision.
    /// - Parameters:
    ///   - values: `rows * width` values, row-major.
    ///   - rows: The batch size.
    ///   - width: Values per row.
    ///   - threshold: A value fires when it is strictly greater.
    ///   - counts: `width` counts to add to.
    /// - Returns: The number of NaN and infinite values.
    package static func accumulate(
        _ values: UnsafePointer<Double>, rows: Int, width: Int, threshold: Double,
        into counts: UnsafeMutablePointer<Int64>
    ) -> Int64 {
        var nonFinite: Int64 = 0
        var start = 0
        while start < width {
            let tile = min(tileWidth, width - start)
            for r in 0..<rows {
                let row = values + r * width + start
                var bad: Int64 = 0
                for j in 0..<tile {
                    let x = row[j]
                    counts[start + j] &+= x > threshold ? 1 : 0
                    bad &+= (x.bitPattern & 0x7FF0_0000_0000_0000) == 0x7FF0_0000_0000_0000 ? 1 : 0
                }
                nonFinite &+= bad
            }
            start += tile
        }
        return nonFinite
    }

    @inline(__always)
    static func countRow(
        _ row: UnsafePointer<Float>, _ count: Int, _ threshold: Float,
        _ accumulators: UnsafeMutablePointer<UInt32>
    ) -> Int64 {
        var bad: UInt32 = 0
        for j in 0..<count {
            let x = row[j]
            accumulators[j] &+= x > threshold ? 1 : 0
            bad &+= (x.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
        }
        return Int64(bad)
    }

    @inline(__always)
    static func fold(_ accumulators: UnsafeMutablePointer<UInt32>, _ count: Int, into counts: UnsafeMutablePointer<Int64>) {
        for j in 0..<count {
            counts[j] &+= Int64(accumulators[j])
            accumulators[j] = 0
        }
    }

    static func withTile<T>(_ body: (UnsafeMutableBufferPointer<UInt32>) -> T) -> T {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: tileWidth) { buffer in
            buffer.initialize(repeating: 0)
            return body(buffer)
        }
    }
}
