import Testing
@testable import DensityCLI
@testable import DensityStore

/// Trend thinning is deterministic and keeps the ends; window densities and the sparkline follow
/// the points kept.
@Suite struct TrendThinningTests {
    @Test(arguments: [1, 2, 3, 10, 39, 40, 41, 1000])
    func thinningKeepsFirstAndLastDeterministically(count: Int) {
        let options: [(every: Int?, points: Int?)] = [(3, nil), (nil, 2), (nil, 7), (nil, 5000), (1, nil), (nil, nil)]
        for option in options {
            let kept = TrendCommand.thin(count, every: option.every, points: option.points)
            #expect(kept.first == 0 && kept.last == count - 1)
            #expect(kept == kept.sorted() && Set(kept).count == kept.count)
            #expect(kept == TrendCommand.thin(count, every: option.every, points: option.points))
            if let points = option.points { #expect(kept.count == min(points, count)) }
            if let every = option.every {
                #expect(kept.dropLast().allSatisfy { $0 % every == 0 })
                #expect(kept.count == (count + every - 1) / every + ((count - 1) % every == 0 ? 0 : 1))
            }
            if option.every == nil && option.points == nil { #expect(kept == Array(0..<count)) }
        }
    }

    @Test func windowDensitiesAreDifferencesBetweenKeptPoints() {
        let points = [TrendPoint(step: 1, vectors: 10, count: 2), TrendPoint(step: 5, vectors: 30, count: 12),
                      TrendPoint(step: 9, vectors: 30, count: 12), TrendPoint(step: 12, vectors: 70, count: 12)]
        let windows = TrendCommand.windowDensities(points)
        #expect(windows.count == 4)
        #expect(windows[0] == nil)
        #expect(windows[1] == 0.5)    // (12 - 2) / (30 - 10)
        #expect(windows[2] == nil)    // no vectors in the window
        #expect(windows[3] == 0.0)
    }

    @Test func sparklineIsLogScaledWithBlanksForSilence() {
        let line = TrendCommand.sparkline([1e-4, 1e-3, 1e-2, 0, 1e-2])
        #expect(Array(line) == ["▁", "▅", "█", " ", "█"])
        #expect(TrendCommand.sparkline([0, 0]).contains("never fired"))
    }
}
