import Foundation

// Timing and printing helpers shared by every section.

/// The timings of one measured piece of work.
struct Measurement {
    /// The timed runs, in the order they ran (the warm-up is not among them).
    let samples: [Duration]
    /// Every run's result folded together; print it so the optimizer must keep the work.
    let checksum: UInt64
    /// The CPU time of the whole process (every thread) during each timed run, when measured.
    var cpuSamples: [Duration] = []

    /// The median CPU time, in seconds (0 when not measured).
    var cpuSeconds: Double { cpuSamples.isEmpty ? 0 : cpuSamples.sorted()[cpuSamples.count / 2].seconds }

    /// The median run.
    var median: Duration { samples.sorted()[samples.count / 2] }
    /// The median in seconds.
    var seconds: Double { median.seconds }
}

/// Runs `body` once to warm up (page faults, caches, thread pools), then `repeats` times under
/// `ContinuousClock`, and returns the timings with the results folded into a checksum.
/// - Parameters:
///   - repeats: Timed runs, at least 1.
///   - body: The work; return something that depends on all of it (a sum, a count).
/// - Returns: The samples, their median and the checksum.
func measure(repeats: Int, _ body: () -> UInt64) -> Measurement {
    precondition(repeats > 0)
    let clock = ContinuousClock()
    var checksum = body()
    var samples: [Duration] = [], cpuSamples: [Duration] = []
    samples.reserveCapacity(repeats)
    for _ in 0..<repeats {
        var result: UInt64 = 0
        let cpuStart = processCPUTime()
        samples.append(clock.measure { result = body() })
        cpuSamples.append(processCPUTime() - cpuStart)
        checksum = checksum &* 31 &+ result
    }
    return Measurement(samples: samples, checksum: checksum, cpuSamples: cpuSamples)
}

/// ``measure(repeats:_:)`` for several pieces of work that are compared with each other: one
/// warm-up of each, then `repeats` rounds that run each piece once, in order, so a change in
/// the machine's load (other processes, the CPU's clock) touches all of them alike.
/// - Parameters:
///   - repeats: Timed rounds, at least 1.
///   - bodies: The pieces of work; each returns something that depends on all of its work.
/// - Returns: One measurement per body, in the same order.
func measureInterleaved(repeats: Int, _ bodies: [() -> UInt64]) -> [Measurement] {
    precondition(repeats > 0)
    let clock = ContinuousClock()
    var checksums = bodies.map { $0() }
    var samples = [[Duration]](repeating: [], count: bodies.count), cpuSamples = samples
    for _ in 0..<repeats {
        for (k, body) in bodies.enumerated() {
            var result: UInt64 = 0
            let cpuStart = processCPUTime()
            samples[k].append(clock.measure { result = body() })
            cpuSamples[k].append(processCPUTime() - cpuStart)
            checksums[k] = checksums[k] &* 31 &+ result
        }
    }
    return bodies.indices.map { Measurement(samples: samples[$0], checksum: checksums[$0], cpuSamples: cpuSamples[$0]) }
}

/// The CPU time this process (all its threads) has used so far: unlike wall time, it does not
/// grow when other processes take the cores.
func processCPUTime() -> Duration {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
}

/// Writes all of `bytes` to `descriptor`, retrying short writes; stops the benchmark on an error.
func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
    var done = 0
    while done < bytes.count {
        let n = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 && errno == EINTR { continue }
        precondition(n > 0, "write failed: \(String(cString: strerror(errno)))")
        done += n
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}

// MARK: - Formatting (FoundationEssentials has no String(format:))

/// `value` with exactly `digits` decimals, e.g. `fixed(3.14159, 2) == "3.14"`.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e15 else { return "\(value)" }
    let whole = Int(scaled)
    let integerPart = whole / Int(scale)
    var fraction = String(whole % Int(scale))
    while fraction.count < digits { fraction = "0" + fraction }
    let sign = value < 0 && whole != 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(integerPart)" : "\(sign)\(integerPart).\(fraction)"
}

/// A byte count in the largest binary unit that keeps it >= 1 (e.g. "256.0 MiB").
func bytes(_ count: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(count) B" : "\(fixed(value, 1)) \(units[unit])"
}

/// A shape as `[4096, 16384]`.
func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

/// A plain-text table: a header row, a rule, then rows, each column padded to its widest cell
/// (the first columns named in `leftAligned` left-aligned, the others right-aligned).
struct Table {
    let header: [String]
    let leftAligned: Int
    private(set) var rows: [[String]] = []

    init(_ header: String..., leftAligned: Int = 1) {
        self.header = header
        self.leftAligned = leftAligned
    }

    mutating func add(_ cells: String...) {
        precondition(cells.count == header.count, "a row needs one cell per column")
        rows.append(cells)
    }

    func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.indices.map { column in
                let pad = String(repeating: " ", count: widths[column] - cells[column].count)
                return column < leftAligned ? cells[column] + pad : pad + cells[column]
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}
