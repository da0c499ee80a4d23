import DensityMetric
import DensityWorkload
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

// MARK: - update: the counting kernel against the memory-bandwidth floor

/// The default shapes `[batch, features]`: an SAE of 16K and 64K features at batch 4096, and a
/// 1M-feature SAE at batch 256, whose counts (8 MiB) do not fit in L2.
private let fullShapes = [[4096, 16_384], [4096, 65_536], [256, 1_048_576]]
/// Smoke shapes: small, and widths that are not multiples of the SIMD width or the tile.
private let smokeShapes = [[64, 4096], [16, 65_536 + 3], [7, 100_003]]

/// For each shape: a synthetic SAE batch, a plain read of it (the floor), then the kernel on one
/// thread and in parallel, in GB/s of activations and as a fraction of the read.
func runUpdateSection(_ options: BenchOptions) {
    let shapes = options.shapes.isEmpty ? (options.smoke ? smokeShapes : fullShapes) : options.shapes
    let repeats = options.repeats(default: 7)
    var table = Table("shape", "size", "what", "median ms", "GB/s", "vs read", leftAligned: 3)
    var checksum: UInt64 = 0
    var sanity: [String] = []
    for shape in shapes {
        let (batch, width) = (shape[0], shape[1])
        let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: batch * width)
        defer { values.deallocate() }
        SyntheticSAE(features: width, seed: 42).fill(values, batch: batch, step: 0)
        plantEdgeValues(values, width: width)
        let activations = UnsafeBufferPointer(values)
        let byteCount = batch * width * MemoryLayout<Float>.stride
        let counts = UnsafeMutableBufferPointer<Int64>.allocate(capacity: width)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0)

        let threads = processorCount
        var metric = try! FeatureDensityMetric(numLearnedFeatures: width)
        let kernel = { (threads: Int) -> UInt64 in
            let nonFinite = FiringKernel.accumulate(activations.baseAddress!, rows: batch, width: width,
                                                    threshold: 0, into: counts.baseAddress!, threads: threads)
            return UInt64(bitPattern: nonFinite &+ counts[width / 2])
        }
        // Interleaved, so that the other processes of a shared machine slow every variant alike.
        let m = measureInterleaved(repeats: repeats, [
            { UInt64(readAll(activations).bitPattern) },
            { readAllInParallel(activations, threads: threads) },
            { kernel(1) },
            { kernel(threads) },
            {
                try! metric.update(activations, shape: [batch, width])
                return UInt64(bitPattern: metric.state.nonFinite &+ metric.state.counts[width / 2])
            },
        ])
        let (read, parallelRead, single, parallel, api) = (m[0], m[1], m[2], m[3], m[4])
        for m in [read, parallelRead, single, parallel, api] { checksum = checksum &* 31 &+ m.checksum }

        let gigabytesPerSecond = { (m: Measurement) in Double(byteCount) / m.seconds / 1e9 }
        let readRate = gigabytesPerSecond(read)
        func row(_ what: String, _ m: Measurement, first: Bool = false) {
            table.add(first ? describe(shape) : "", first ? bytes(byteCount) : "", what,
                      fixed(m.seconds * 1e3, 2), fixed(gigabytesPerSecond(m), 2),
                      fixed(gigabytesPerSecond(m) / readRate * 100, 0) + "%")
        }
        row("read: sum, 1 thread (the floor)", read, first: true)
        row("read: sum, \(threads) threads", parallelRead)
        row("update kernel, 1 thread", single)
        row("update kernel, \(threads) threads", parallel)
        row("FeatureDensityMetric.update", api)

        sanity.append("\(describe(shape)): " + checkAgainstReference(activations, batch: batch, width: width))
    }
    print(table.render())
    print("""

        GB/s of float32 activations. "vs read" compares with the 1-thread sum of the same buffer,
        timed in the same rounds. Target: the 1-thread kernel >= 50% of it (numpy's
        (a > 0).sum(axis=0) reaches about 20%). The kernel reads four rows at once (four memory
        streams), which can beat the one-stream sum.

        """)
    print("sanity (edge values planted: NaN, ±inf, ±0, ±smallest subnormal):")
    for line in sanity { print("  " + line) }
    print("checksum \(checksum)")
}

// MARK: - The floor: a plain read

/// Sums every float of the buffer with four 16-lane accumulators: the cheapest loop that reads
/// every byte, so its speed is the single-thread memory bandwidth (the result is printed in the
/// checksum, so the optimizer cannot drop the loads).
@inline(never)
func readAll(_ values: UnsafeBufferPointer<Float>) -> Float {
    guard let start = values.baseAddress else { return 0 }
    let base = UnsafeRawPointer(start)
    let stride = MemoryLayout<SIMD16<Float>>.stride
    var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
    var i = 0
    while i + 64 <= values.count {
        let offset = i * MemoryLayout<Float>.stride
        s0 += base.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
        s1 += base.loadUnaligned(fromByteOffset: offset + stride, as: SIMD16<Float>.self)
        s2 += base.loadUnaligned(fromByteOffset: offset + 2 * stride, as: SIMD16<Float>.self)
        s3 += base.loadUnaligned(fromByteOffset: offset + 3 * stride, as: SIMD16<Float>.self)
        i += 64
    }
    var tail: Float = 0
    while i < values.count {
        tail += values[i]
        i += 1
    }
    return ((s0 + s1) + (s2 + s3)).sum() + tail
}

/// The CPUs online.
let processorCount = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

/// ``readAll(_:)`` on `threads` equal slices at once: the memory bandwidth of all the cores,
/// for context beside the parallel kernel.
func readAllInParallel(_ values: UnsafeBufferPointer<Float>, threads: Int) -> UInt64 {
    let sums = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: threads)
    defer { sums.deallocate() }
    let shared = (values: SharedBuffer(values), sums: SharedBuffer(UnsafeBufferPointer(sums)))
    DispatchQueue.concurrentPerform(iterations: threads) { part in
        let all = shared.values.buffer
        let slice = UnsafeBufferPointer(rebasing: all[all.count * part / threads..<all.count * (part + 1) / threads])
        UnsafeMutablePointer(mutating: shared.sums.buffer.baseAddress!)[part] = UInt64(readAll(slice).bitPattern)
    }
    return sums.reduce(0, &+)
}

/// A buffer handed to the worker threads of one `concurrentPerform` call in
/// ``readAllInParallel(_:threads:)``. `@unchecked Sendable` is sound only there: the call
/// returns after every worker has finished, the workers only read the activations, and each
/// writes only its own slot of the sums.
struct SharedBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<Element>
    init(_ buffer: UnsafeBufferPointer<Element>) { self.buffer = buffer }
}

// MARK: - Sanity

/// Overwrites a few values with the fire rule's edge cases (NaN, ±inf, ±0, the smallest
/// subnormals), at fixed places, so the sanity check exercises them.
func plantEdgeValues(_ values: UnsafeMutableBufferPointer<Float>, width: Int) {
    let edges: [Float] = [.nan, .infinity, -.infinity, -0.0, 0, .leastNonzeroMagnitude,
                          -.leastNonzeroMagnitude, Float(bitPattern: 0x7FC0_0001)]
    for (k, edge) in edges.enumerated() {
        values[(k * 7_919 + k * k * width) % values.count] = edge
    }
}

/// Counts the batch once with the single-thread kernel and once with the parallel one, and
/// compares: the two everywhere, and the single-thread counts with a plain scalar loop over all
/// rows for a sample of columns (the first, middle and last 64) and for the non-finite count.
func checkAgainstReference(_ values: UnsafeBufferPointer<Float>, batch: Int, width: Int) -> String {
    func count(threads: Int) -> (counts: [Int64], nonFinite: Int64) {
        var counts = [Int64](repeating: 0, count: width)
        let nonFinite = counts.withUnsafeMutableBufferPointer {
            FiringKernel.accumulate(values.baseAddress!, rows: batch, width: width, threshold: 0,
                                    into: $0.baseAddress!, threads: threads)
        }
        return (counts, nonFinite)
    }
    let single = count(threads: 1)
    let parallel = count(threads: processorCount)
    var sample = Set(0..<min(64, width))
    sample.formUnion(max(0, width / 2 - 32)..<min(width, width / 2 + 32))
    sample.formUnion(max(0, width - 64)..<width)
    var mismatches = 0
    for column in sample {
        var expected: Int64 = 0
        for row in 0..<batch where values[row * width + column] > 0 { expected += 1 }
        if single.counts[column] != expected { mismatches += 1 }
    }
    var expectedNonFinite: Int64 = 0
    for x in values where !x.isFinite { expectedNonFinite += 1 }
    let parallelAgrees = parallel.counts == single.counts && parallel.nonFinite == single.nonFinite
    let ok = mismatches == 0 && single.nonFinite == expectedNonFinite && parallelAgrees
    return (ok ? "ok" : "MISMATCH") + " (scalar loop: \(sample.count) columns x \(batch) rows, \(mismatches) differ; "
        + "non-finite \(single.nonFinite), expected \(expectedNonFinite); "
        + "\(processorCount) threads \(parallelAgrees ? "==" : "!=") 1 thread on all \(width) columns)"
}
