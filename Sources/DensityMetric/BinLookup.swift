/// Maps a count to its histogram bin in a few instructions, exactly as a search over the bins'
/// first counts would.
///
/// A count's float64 exponent and top 4 mantissa bits split the counts into ranges no wider than
/// 2^(1/16) ≈ 1.044x; a bin spans 10^0.2 ≈ 1.585x, so a range meets at most one bin boundary. The
/// table holds, per range, the bin of its smallest count and the first count of the next bin if
/// that falls inside the range: one load and one (almost always false) comparison per count.
struct BinLookup: Sendable {
    private let firsts: [Int64]
    private var bins: [Int] = []
    private var nextStarts: [Int64] = []
    private let zeroBin: Int

    /// - Parameters:
    ///   - firstCountOfBin: Ascending; entry i is the smallest count in bin i (`Int64.max` if none).
    ///   - maxCount: The largest count that will be looked up.
    init(firstCountOfBin: [Int64], maxCount: Int64) {
        firsts = firstCountOfBin
        zeroBin = Self.search(0, firstCountOfBin)
        guard maxCount >= 1 else { return }
        let last = Self.index(maxCount)
        bins.reserveCapacity(last + 1)
        nextStarts.reserveCapacity(last + 1)
        for index in 0...last {
            let low = Self.smallestCount(ofIndex: index)
            let high = index == last ? maxCount : Self.smallestCount(ofIndex: index + 1) - 1
            let bin = Self.search(low, firstCountOfBin)
            let next = bin + 1 < firstCountOfBin.count ? firstCountOfBin[bin + 1] : .max
            // A second boundary inside the range cannot happen with bins this wide; if it ever
            // did, -1 sends those counts to the exact search.
            let second = bin + 2 < firstCountOfBin.count ? firstCountOfBin[bin + 2] : .max
            bins.append(bin)
            nextStarts.append(second <= high ? -1 : next)
        }
    }

    /// Adds the bin of every count to `histogram`, with the tables read through unchecked pointers:
    /// the summary of a wide checkpoint runs this per count. A count outside `0...maxCount` (which a
    /// valid state never holds) is binned by the exact search, never looked up past the tables.
    /// Two partial histograms let neighbouring counts of one bin not wait on each other.
    func tally(_ counts: UnsafeBufferPointer<Int64>, into histogram: UnsafeMutableBufferPointer<Int>) {
        let width = histogram.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * width) { partial in
            partial.initialize(repeating: 0)
            bins.withUnsafeBufferPointer { bins in
                nextStarts.withUnsafeBufferPointer { nextStarts in
                    /// The bin of one count: its range's bin, or the next when it reaches the next bin's first count.
                    @inline(__always) func binOf(_ count: Int64) -> Int {
                        guard count > 0 else { return zeroBin }
                        let index = Self.index(count)
                        guard index < nextStarts.count else { return Self.search(count, firsts) }
                        let next = nextStarts[index]
                        if next < 0 { return Self.search(count, firsts) }
                        return bins[index] &+ (count >= next ? 1 : 0)
                    }
                    var i = 0
                    while i + 2 <= counts.count {
                        partial[binOf(counts[i])] &+= 1
                        partial[width &+ binOf(counts[i + 1])] &+= 1
                        i += 2
                    }
                    if i < counts.count { partial[binOf(counts[i])] &+= 1 }
                }
            }
            for bin in 0..<width { histogram[bin] &+= partial[bin] &+ partial[width + bin] }
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

    /// The last bin whose first count is <= `count`.
    static func search(_ count: Int64, _ firsts: [Int64]) -> Int {
        var low = 0, high = firsts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if firsts[middle] <= count { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
