/// Tallies counts into histogram bins, zeros and dense counts in one pass, a few instructions a
/// count, exactly as a search over the bins' first counts would.
///
/// The counts `0...maxCount` are split into classes by every boundary a summary asks about: each
/// bin's first count, 1 (so that 0 is a class of its own) and the first dense count. A count's
/// float64 exponent and top 4 mantissa bits split the counts into ranges no wider than
/// 2^(1/16) ≈ 1.044x; a bin spans 10^0.2 ≈ 1.585x, so a range meets at most one class boundary
/// (two only where the dense boundary falls near a bin's, and then those counts take the exact
/// search). The table holds, per range, the class of its smallest count and the first count of
/// the next class if that falls inside the range: one load and one comparison per count.
struct BinLookup: Sendable {
    /// Ascending: the smallest count of each class.
    private let firsts: [Int64]
    /// The histogram bin of each class.
    private let binOfClass: [Int]
    /// The first class whose counts are dense (`firsts.count` if none).
    private let firstDenseClass: Int
    /// What the table holds for one range of counts.
    private struct Slot {
        /// The first count of the next class if it is inside the range, `Int64.max` if not, -1 when
        /// a second boundary is inside it too (those counts take the exact search).
        var next: Int64
        /// The class of the range's smallest count.
        var first: Int
    }
    /// Per range slot (slot 0: the count 0; slot k: the float range k - 1), one load per count.
    private var slots: [Slot] = []

    /// - Parameters:
    ///   - firstCountOfBin: Ascending; entry i is the smallest count in bin i (`Int64.max` if none).
    ///   - maxCount: The largest count that will be looked up.
    ///   - denseFrom: The smallest count that is dense.
    init(firstCountOfBin: [Int64], maxCount: Int64, denseFrom: Int64) {
        let firsts = Array(Set([0, 1, denseFrom] + firstCountOfBin).filter { $0 >= 0 }).sorted()
        self.firsts = firsts
        binOfClass = firsts.map { Self.search($0, firstCountOfBin) }
        firstDenseClass = firsts.firstIndex(of: denseFrom) ?? firsts.count
        slots = [Slot(next: .max, first: 0)]  // the count 0 is class 0, alone
        guard maxCount >= 1 else { return }
        let last = Self.index(maxCount)
        slots.reserveCapacity(last + 2)
        for index in 0...last {
            let low = Self.smallestCount(ofIndex: index)
            let high = index == last ? maxCount : Self.smallestCount(ofIndex: index + 1) - 1
            let first = Self.search(low, firsts)
            let next = first + 1 < firsts.count ? firsts[first + 1] : .max
            let second = first + 2 < firsts.count ? firsts[first + 2] : .max
            slots.append(Slot(next: second <= high ? -1 : next, first: first))
        }
    }

    /// Adds the bin of every count to `histogram` and returns, from the same pass, the counts'
    /// exact sum, how many are 0 and how many are dense: one read of the counts for every figure
    /// of a summary.
    ///
    /// Each count adds one to its class (four partial tallies, so that neighbouring counts of one
    /// class do not wait on each other's increment); the classes then add up to bins, zeros and
    /// dense counts. The tables are read through unchecked pointers. A count outside
    /// `0...maxCount` (which a valid state never holds) takes the exact search, never a look-up
    /// past the tables.
    /// - Parameters:
    ///   - counts: Non-negative counts.
    ///   - histogram: The bins, added to.
    /// - Returns: The sum of the counts, the number of zeros and the number of dense counts.
    func tally(_ counts: UnsafeBufferPointer<Int64>, into histogram: UnsafeMutableBufferPointer<Int>)
        -> (sum: Int128, zeros: Int, dense: Int)
    {
        let width = firsts.count
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * width) { partial in
            partial.initialize(repeating: 0)
            let sum = slots.withUnsafeBufferPointer { slots in
                /// The class of one count: its range's first class, or the next when the count reaches it.
                @inline(__always) func classOf(_ count: Int64) -> Int {
                    // Slot 0 for the count 0 (whose float has exponent 0), slot k for range k - 1.
                    let raw = Int(truncatingIfNeeded: Double(count).bitPattern >> 48) &- ((1023 << 4) &- 1)
                    let index = raw & ~(raw >> 63)
                    guard index < slots.count else { return Self.search(count, firsts) }
                    let slot = slots[index]
                    if slot.next < 0 { return Self.search(count, firsts) }
                    return slot.first &+ (count >= slot.next ? 1 : 0)
                }
                var low: UInt64 = 0, high: UInt64 = 0
                /// One count into the partial tally at `offset`, and into the 128-bit sum.
                @inline(__always) func add(_ count: Int64, _ offset: Int) {
                    partial[offset &+ classOf(count)] &+= 1
                    let (sum, carry) = low.addingReportingOverflow(UInt64(bitPattern: count))
                    low = sum
                    high &+= carry ? 1 : 0
                }
                var i = 0
                while i + 4 <= counts.count {
                    add(counts[i], 0)
                    add(counts[i + 1], width)
                    add(counts[i + 2], 2 &* width)
                    add(counts[i + 3], 3 &* width)
                    i += 4
                }
                while i < counts.count {
                    add(counts[i], 0)
                    i += 1
                }
                return Int128(high) << 64 | Int128(low)
            }
            var dense = 0
            for group in 0..<width {
                let total = partial[group] &+ partial[width + group] &+ partial[2 * width + group] &+ partial[3 * width + group]
                histogram[binOfClass[group]] &+= total
                if group >= firstDenseClass { dense &+= total }
            }
            let zeros = partial[0] &+ partial[width] &+ partial[2 * width] &+ partial[3 * width]
            return (sum, zeros, dense)
        }
    }

    /// The range of a positive count: (exponent - 1023) x 16 + the top 4 mantissa bits.
    @inline(__always)
    static func index(_ count: Int64) -> Int {
        Int(truncatingIfNeeded: Double(count).bitPattern >> 48) - (1023 << 4)
    }

    /// The smallest positive count whose range is `index`.
    static func smallestCount(ofIndex index: Int) -> Int64 {
        let bits = UInt64(index + (1023 << 4)) << 48
        let value = Double(bitPattern: bits)
        // Counts are integers: the smallest one at or above the range's lower edge. Below 16 the
        // ranges are narrower than 1, and several are empty; they are never looked up.
        // Ranges from 2^63 up hold no Int64 count.
        guard let count = Int64(exactly: value.rounded(.up)) else { return .max }
        return Self.index(count) < index && count < .max ? count + 1 : count
    }

    /// The last entry of `firsts` (ascending) that is <= `count`.
    static func search(_ count: Int64, _ firsts: [Int64]) -> Int {
        var low = 0, high = firsts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if firsts[middle] <= count { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
