internal import Dispatch

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#else
internal import Darwin
#endif

// MARK: - Splitting a batch over the CPUs

extension FiringKernel {
    /// The CPUs online when the process first counted a large batch.
    static let processorCount = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// The least work that pays for a thread: 4 MiB of activations take about 0.3 ms to read at
    /// 14 GB/s, against some 10-30 µs to hand a part to a worker thread and wait for it.
    static let minBytesPerPart = 4 << 20

    /// The narrowest column range worth a thread: each row's slice of a part should span at
    /// least a few cache lines and pages, or the hardware prefetcher never gets going.
    static let minColumnsPerPart = 1024

    /// How many column ranges to count in parallel: 1 for small batches, else up to one per CPU.
    /// - Parameters:
    ///   - rows: The batch size.
    ///   - width: Values per row.
    ///   - bytesPerValue: 4 for `Float`, 8 for `Double`.
    static func plannedParts(rows: Int, width: Int, bytesPerValue: Int) -> Int {
        guard processorCount > 1 else { return 1 }
        let bytes = rows.multipliedReportingOverflow(by: width * bytesPerValue)
        let byWork = bytes.overflow ? processorCount : bytes.partialValue / minBytesPerPart
        return max(1, min(processorCount, byWork, width / minColumnsPerPart))
    }

    /// The columns of part `part` of `parts`: consecutive ranges that cover `0..<width`, of
    /// near-equal sizes, starting at multiples of 16 so every part but the last has whole
    /// SIMD steps (a range can be empty when `width` is small).
    static func columns(ofPart part: Int, of parts: Int, width: Int) -> Range<Int> {
        func boundary(_ k: Int) -> Int {
            k == parts ? width : (width / lanes * k / parts) * lanes
        }
        return boundary(part)..<boundary(part + 1)
    }

    /// Counts `rows` x `width` values with `kernel`, which counts a range of columns: on this
    /// thread when one part is planned (``plannedParts(rows:width:bytesPerValue:)``, or `threads`),
    /// else on the columns of each part in parallel (``inParallel(parts:width:_:)``).
    /// - Returns: The sum of what `kernel` returns (the NaN and infinite values).
    static func inParts<Value>(
        _ values: UnsafePointer<Value>, rows: Int, width: Int, into counts: UnsafeMutablePointer<Int64>, threads: Int?,
        kernel: @Sendable (UnsafePointer<Value>, Range<Int>, UnsafeMutablePointer<Int64>) -> Int64
    ) -> Int64 {
        let parts = threads.map { max(1, $0) } ?? plannedParts(rows: rows, width: width, bytesPerValue: MemoryLayout<Value>.stride)
        guard parts > 1 else { return kernel(values, 0..<width, counts) }
        let shared = (values: WorkerPointer(values), counts: WorkerPointer(counts))
        return inParallel(parts: parts, width: width) { columns in kernel(shared.values.readOnly, columns, shared.counts.base) }
    }

    /// Runs `body` on each of `parts` column ranges on Dispatch's worker threads, and returns
    /// the sum of the results once every part is done.
    /// - Parameters:
    ///   - parts: How many ranges, at least 1.
    ///   - width: The columns to split.
    ///   - body: Counts one column range and returns its non-finite count; it runs on several
    ///     threads at once, each with its own range.
    static func inParallel(parts: Int, width: Int, _ body: @Sendable (Range<Int>) -> Int64) -> Int64 {
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: parts) { results in
            let slots = WorkerPointer(results.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                slots.base[part] = body(columns(ofPart: part, of: parts, width: width))
            }
            return results.reduce(0, &+)
        }
    }
}

/// A pointer handed to the worker threads of one `DispatchQueue.concurrentPerform` call in
/// ``FiringKernel/inParallel(parts:width:_:)``.
///
/// `@unchecked Sendable` is sound only as used there: `concurrentPerform` returns after every
/// worker has finished, so the memory outlives every use; the workers only read the
/// activations, and each writes only its own column range of the counts and its own result
/// slot, so no memory is written by one thread while another touches it.
struct WorkerPointer<Pointee>: @unchecked Sendable {
    /// The address.
    let base: UnsafeMutablePointer<Pointee>

    init(_ base: UnsafeMutablePointer<Pointee>) { self.base = base }
    init(_ base: UnsafePointer<Pointee>) { self.base = UnsafeMutablePointer(mutating: base) }

    /// The address, for reading only.
    var readOnly: UnsafePointer<Pointee> { UnsafePointer(base) }
}
