/// The counting kernel behind ``FeatureDensityMetric/update(_:shape:)``: one pass over a
/// row-major `[rows, width]` buffer that adds, per column, the number of rows whose value is
/// `> threshold`, and returns how many values were not finite (NaN, +inf, -inf).
///
/// The work is memory-bound, so the kernel is built to read the activations once at the speed
/// of memory:
/// - **Tiles of columns.** A 1M-feature batch's counts (8 MiB) do not fit in cache. The columns
///   are taken one tile of ``tileWidth`` at a time; the tile's 32-bit accumulators stay in
///   cache while every row's slice of the tile streams past, and are folded into the 64-bit
///   counts once per tile.
/// - **SIMD.** 16 values per step: one compare gives a mask of all-ones lanes where a value
///   fired, and subtracting the mask adds 1 to those lanes' accumulators. Four rows share one
///   load and store of the accumulators, and reading four rows at once keeps four memory
///   streams in flight (two rows were measurably slower, eight no faster).
/// - **Threads.** Large batches are split by column ranges over the CPUs
///   (`FiringKernel+Parallel.swift`); the ranges are disjoint, so no counts are merged.
///
/// The SIMD code uses only operations that the standard library does on whole vectors even at
/// `-Onone` (`.>`, `.>=`, `&+`, `&-=`, `unsafeBitCast`, raw-pointer `loadUnaligned` and
/// `storeBytes`). At `-Onone` the generic ones (`&`, `replacing(with:where:)`, `wrappedSum()`)
/// loop lane by lane and would make debug builds (tests, the demo) several times slower; as it
/// is, a debug build counts about twice as fast as the former scalar loop did.
package enum FiringKernel {
    /// Columns per tile: 16384 accumulators of 4 bytes = 64 KiB, which stay in L2 while four
    /// rows at a time stream past them, 64 KiB per row. Measured on a 2-core AMD EPYC (512 KiB
    /// of L2 per core) on batches of 64 MiB to 1 GiB: 2048 columns reached ~70% of the
    /// throughput of 16384 (each row's short slice restarts the hardware prefetcher), 4096
    /// ~80%, 8192 ~90%, 32768 and 65536 the same as 16384.
    package static let tileWidth = 16_384

    /// Values per SIMD step.
    static let lanes = 16

    /// Rows counted into the 32-bit accumulators before they are folded into the counts: an
    /// accumulator gains at most 1 per row, so it cannot wrap.
    static let rowsPerFold = Int(Int32.max)

    // MARK: - float32

    /// Counts firings of `Float` values.
    /// - Parameters:
    ///   - values: `rows * width` values, row-major.
    ///   - rows: The batch size.
    ///   - width: Values per row (components x features).
    ///   - threshold: A value fires when it is strictly greater (NaN never fires).
    ///   - counts: `width` counts to add to.
    ///   - threads: How many column ranges to count in parallel; `nil` decides from the size
    ///     (one thread for small batches), 1 forces the single-thread kernel.
    /// - Returns: The number of NaN and infinite values.
    package static func accumulate(
        _ values: UnsafePointer<Float>, rows: Int, width: Int, threshold: Float,
        into counts: UnsafeMutablePointer<Int64>, threads: Int? = nil
    ) -> Int64 {
        inParts(values, rows: rows, width: width, into: counts, threads: threads) { values, columns, counts in
            accumulate(values, rows: rows, width: width, columns: columns, threshold: threshold, into: counts)
        }
    }

    /// The single-thread kernel over a range of columns (a part of the parallel kernel).
    static func accumulate(
        _ values: UnsafePointer<Float>, rows: Int, width: Int, columns: Range<Int>, threshold: Float,
        into counts: UnsafeMutablePointer<Int64>
    ) -> Int64 {
        guard !columns.isEmpty, rows > 0 else { return 0 }
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: min(tileWidth, columns.count)) { tile in
            let accumulators = tile.baseAddress!
            accumulators.initialize(repeating: 0, count: tile.count)
            var nonFinite: Int64 = 0
            var start = columns.lowerBound
            while start < columns.upperBound {
                let count = min(tileWidth, columns.upperBound - start)
                var row = 0
                while row < rows {
                    let rowEnd = min(rows, row + rowsPerFold)
                    var r = row
                    while r + 4 <= rowEnd {
                        nonFinite &+= countFourRows(values + r * width + start, stride: width, count,
                                                    threshold, accumulators)
                        r += 4
                    }
                    while r < rowEnd {
                        nonFinite &+= countRow(values + r * width + start, count, threshold, accumulators)
                        r += 1
                    }
                    fold(accumulators, count, into: counts + start)  // also zeroes them
                    row = rowEnd
                }
                start += count
            }
            return nonFinite
        }
    }

    /// Adds four consecutive rows' firings (each `count` values, `stride` apart) to the
    /// accumulators, sharing one load and store of them per 16 columns.
    @inline(__always)
    static func countFourRows(
        _ row: UnsafePointer<Float>, stride: Int, _ count: Int, _ threshold: Float,
        _ accumulators: UnsafeMutablePointer<UInt32>
    ) -> Int64 {
        let t = SIMD16<Float>(repeating: threshold)
        let rows = (UnsafeRawPointer(row), UnsafeRawPointer(row + stride),
                    UnsafeRawPointer(row + 2 * stride), UnsafeRawPointer(row + 3 * stride))
        let tile = UnsafeMutableRawPointer(accumulators)
        var bad = SIMD16<UInt32>()
        var j = 0
        while j + lanes <= count {
            let offset = j &* MemoryLayout<Float>.stride
            var fired = tile.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
            let x0 = rows.0.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            fired &-= firedMask(x0, t)
            bad &-= nonFiniteMask(x0)
            let x1 = rows.1.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            fired &-= firedMask(x1, t)
            bad &-= nonFiniteMask(x1)
            let x2 = rows.2.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            fired &-= firedMask(x2, t)
            bad &-= nonFiniteMask(x2)
            let x3 = rows.3.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            fired &-= firedMask(x3, t)
            bad &-= nonFiniteMask(x3)
            tile.storeBytes(of: fired, toByteOffset: offset, as: SIMD16<UInt32>.self)
            j &+= lanes
        }
        var nonFinite = laneSum(bad)
        if j < count {
            for r in 0..<4 {
                nonFinite &+= countTail(row + r * stride, from: j, to: count, threshold, accumulators)
            }
        }
        return nonFinite
    }

    /// Adds one row's firings (`count` values) to the accumulators.
    @inline(__always)
    static func countRow(
        _ row: UnsafePointer<Float>, _ count: Int, _ threshold: Float,
        _ accumulators: UnsafeMutablePointer<UInt32>
    ) -> Int64 {
        let t = SIMD16<Float>(repeating: threshold)
        let values = UnsafeRawPointer(row)
        let tile = UnsafeMutableRawPointer(accumulators)
        var bad = SIMD16<UInt32>()
        var j = 0
        while j + lanes <= count {
            let offset = j &* MemoryLayout<Float>.stride
            let x = values.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            var fired = tile.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt32>.self)
            fired &-= firedMask(x, t)
            tile.storeBytes(of: fired, toByteOffset: offset, as: SIMD16<UInt32>.self)
            bad &-= nonFiniteMask(x)
            j &+= lanes
        }
        return laneSum(bad) &+ countTail(row, from: j, to: count, threshold, accumulators)
    }

    /// The columns `start..<end` of one row, one value at a time (the last `count % 16`).
    @inline(__always)
    static func countTail(
        _ row: UnsafePointer<Float>, from start: Int, to end: Int, _ threshold: Float,
        _ accumulators: UnsafeMutablePointer<UInt32>
    ) -> Int64 {
        var bad: Int64 = 0
        var j = start
        while j < end {
            let x = row[j]
            accumulators[j] &+= x > threshold ? 1 : 0
            bad &+= (x.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
            j += 1
        }
        return bad
    }

    /// All-ones lanes where `x > t` (an ordered compare: NaN gives 0), zero elsewhere.
    ///
    /// `SIMDMask` is a frozen struct whose only stored property is its storage vector, with
    /// -1 for true lanes, so the bit cast is its integer form.
    @inline(__always)
    static func firedMask(_ x: SIMD16<Float>, _ t: SIMD16<Float>) -> SIMD16<UInt32> {
        unsafeBitCast(x .> t, to: SIMD16<UInt32>.self)
    }

    /// All-ones lanes where `x` is NaN or infinite (exponent all ones). Doubling the bit pattern
    /// drops the sign, and then the exponent is all ones exactly when the result is
    /// `>= 0xFF00_0000`; this avoids `&`, which is lane-by-lane at `-Onone`.
    @inline(__always)
    static func nonFiniteMask(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
        let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
        let doubled = bits &+ bits
        return unsafeBitCast(doubled .>= SIMD16<UInt32>(repeating: 0xFF00_0000), to: SIMD16<UInt32>.self)
    }

    /// The sum of the lanes, as Int64 (each lane is a small count).
    @inline(__always)
    static func laneSum(_ v: SIMD16<UInt32>) -> Int64 {
        var sum: Int64 = 0
        for lane in 0..<16 { sum &+= Int64(v[lane]) }
        return sum
    }

    /// Adds the accumulators to the counts and zeroes them.
    @inline(__always)
    static func fold(_ accumulators: UnsafeMutablePointer<UInt32>, _ count: Int, into counts: UnsafeMutablePointer<Int64>) {
        for j in 0..<count {
            counts[j] &+= Int64(accumulators[j])
            accumulators[j] = 0
        }
    }

    // MARK: - float64

    /// Counts firings of `Double` values (from float64 files), compared in double precision.
    /// - Parameters:
    ///   - values: `rows * width` values, row-major.
    ///   - rows: The batch size.
    ///   - width: Values per row.
    ///   - threshold: A value fires when it is strictly greater (NaN never fires).
    ///   - counts: `width` counts to add to.
    ///   - threads: As for `Float`: `nil` decides from the size, 1 forces one thread.
    /// - Returns: The number of NaN and infinite values.
    package static func accumulate(
        _ values: UnsafePointer<Double>, rows: Int, width: Int, threshold: Double,
        into counts: UnsafeMutablePointer<Int64>, threads: Int? = nil
    ) -> Int64 {
        inParts(values, rows: rows, width: width, into: counts, threads: threads) { values, columns, counts in
            accumulate(values, rows: rows, width: width, columns: columns, threshold: threshold, into: counts)
        }
    }

    /// The single-thread float64 kernel over a range of columns: simpler than the float32 one
    /// (float64 activations are rare), it adds straight into a tile of the 64-bit counts.
    static func accumulate(
        _ values: UnsafePointer<Double>, rows: Int, width: Int, columns: Range<Int>, threshold: Double,
        into counts: UnsafeMutablePointer<Int64>
    ) -> Int64 {
        let t = SIMD8<Double>(repeating: threshold)
        let limit = SIMD8<UInt64>(repeating: 0xFFE0_0000_0000_0000)  // doubled all-ones exponent
        var nonFinite: Int64 = 0
        var start = columns.lowerBound
        while start < columns.upperBound {
            let count = min(tileWidth, columns.upperBound - start)
            let tile = UnsafeMutableRawPointer(counts + start)
            for r in 0..<rows {
                let row = values + r * width + start
                let raw = UnsafeRawPointer(row)
                var bad = SIMD8<UInt64>()
                var j = 0
                while j + 8 <= count {
                    let offset = j &* MemoryLayout<Double>.stride
                    let x = raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Double>.self)
                    var fired = tile.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt64>.self)
                    fired &-= unsafeBitCast(x .> t, to: SIMD8<UInt64>.self)
                    tile.storeBytes(of: fired, toByteOffset: offset, as: SIMD8<UInt64>.self)
                    let bits = unsafeBitCast(x, to: SIMD8<UInt64>.self)
                    bad &-= unsafeBitCast(bits &+ bits .>= limit, to: SIMD8<UInt64>.self)
                    j &+= 8
                }
                for lane in 0..<8 { nonFinite &+= Int64(truncatingIfNeeded: bad[lane]) }
                while j < count {
                    let x = row[j]
                    counts[start + j] &+= x > threshold ? 1 : 0
                    nonFinite &+= (x.bitPattern & 0x7FF0_0000_0000_0000) == 0x7FF0_0000_0000_0000 ? 1 : 0
                    j += 1
                }
            }
            start += count
        }
        return nonFinite
    }
}
