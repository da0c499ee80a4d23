import Foundation
import Testing
@testable import DensityMetric

/// The exact state: validation of stored values, sum, difference and the only-grows rule.
@Suite struct DensityStateTests {
    @Test func emptyStateHasZeros() throws {
        let state = try DensityState(features: 4, components: 3)
        #expect(state.counts == [Int64](repeating: 0, count: 12))
        #expect(state.vectors == 0 && state.nonFinite == 0)
        #expect(state.shape == [3, 4])
        #expect(try DensityState(features: 4).shape == [4])
    }

    @Test func storedValuesAreChecked() throws {
        #expect(throws: DensityError.bufferSizeMismatch(shape: [2, 3], expected: 6, actual: 5)) {
            _ = try DensityState(features: 3, components: 2, counts: [0, 0, 0, 0, 0], vectors: 1)
        }
        // A count above the vectors seen is impossible.
        let above = #expect(throws: DensityError.self) {
            _ = try DensityState(features: 3, components: 2, counts: [0, 0, 0, 0, 3, 0], vectors: 2)
        }
        #expect(try #require(above).description.contains("component 1, feature 1"))
        #expect(throws: DensityError.self) {
            _ = try DensityState(features: 2, components: nil, counts: [-1, 0], vectors: 2)
        }
        #expect(throws: DensityError.self) {
            _ = try DensityState(features: 2, components: nil, counts: [0, 0], vectors: -1)
        }
        #expect(throws: DensityError.self) {
            _ = try DensityState(features: 2, components: nil, counts: [0, 0], vectors: 1, nonFinite: -1)
        }
    }

    @Test func countAndDensitiesReadRowMajor() throws {
        let state = try DensityState(features: 3, components: 2, counts: [0, 1, 2, 3, 4, 0], vectors: 4, nonFinite: 9)
        #expect(state.count(feature: 2, component: 0) == 2)
        #expect(state.count(feature: 1, component: 1) == 4)
        #expect(state.densities() == [0, 0.25, 0.5, 0.75, 1, 0])
        #expect(state.firedTotal == 10)
    }

    @Test func subtractingGivesTheWindow() throws {
        let earlier = try DensityState(features: 3, components: nil, counts: [1, 0, 2], vectors: 5, nonFinite: 1)
        let later = try DensityState(features: 3, components: nil, counts: [4, 0, 7], vectors: 10, nonFinite: 3)
        let window = try later.subtracting(earlier)
        #expect(window.counts == [3, 0, 5])
        #expect(window.vectors == 5)
        #expect(window.nonFinite == 2)
        // Merging the window back onto the earlier state gives the later one.
        #expect(try earlier.merged(with: window) == later)
    }

    @Test func aCountThatOutgrowsTheVectorsIsNamed() throws {
        let earlier = try DensityState(features: 2, components: nil, counts: [5, 0], vectors: 10)
        let later = try DensityState(features: 2, components: nil, counts: [10, 0], vectors: 11)
        let error = #expect(throws: DensityError.self) { try later.requireFollows(earlier) }
        #expect(error == .countGrewPastVectors(detail: "the count at feature 0 grew by 5 (5 to 10) while the vectors grew by 1 (10 to 11)"))
        #expect(throws: DensityError.self) { try later.subtracting(earlier) }
        // growing by exactly the vectors added is fine
        let most = try DensityState(features: 2, components: nil, counts: [6, 1], vectors: 11)
        #expect(try most.subtracting(earlier).densities() == [1, 1])
    }

    @Test func decreasesAreNamed() throws {
        let earlier = try DensityState(features: 3, components: 2, counts: [1, 0, 2, 0, 5, 0], vectors: 5)
        let lower = try DensityState(features: 3, components: 2, counts: [1, 0, 2, 0, 4, 0], vectors: 6)
        let error = #expect(throws: DensityError.self) { try lower.requireFollows(earlier) }
        let text = try #require(error).description
        #expect(text.contains("component 1, feature 1") && text.contains("from 5 to 4"))
        let fewerVectors = try DensityState(features: 3, components: 2, counts: [1, 0, 2, 0, 4, 0], vectors: 4)
        let error2 = #expect(throws: DensityError.self) { try fewerVectors.subtracting(earlier) }
        #expect(try #require(error2).description.contains("vectors went from 5 to 4"))
        try earlier.requireFollows(earlier)  // equal is fine
    }

    @Test func incompatibleShapesAreRefused() throws {
        let a = try DensityState(features: 3)
        let b = try DensityState(features: 3, components: 1)
        #expect(!a.hasSameShape(as: b))
        #expect(throws: DensityError.incompatibleStates(
            expected: "features=3, no components", actual: "components=1, features=3")) {
            _ = try a.merged(with: b)
        }
        #expect(throws: DensityError.self) { _ = try b.subtracting(a) }
    }

    @Test func mergeOverflowIsRefused() throws {
        let big = try DensityState(features: 1, components: nil, counts: [Int64.max], vectors: .max)
        let one = try DensityState(features: 1, components: nil, counts: [1], vectors: 1)
        let error = #expect(throws: DensityError.self) { _ = try big.merged(with: one) }
        guard case .countOverflow = try #require(error) else {
            Issue.record("expected countOverflow, got \(String(describing: error))")
            return
        }
    }

    @Test func codableRoundTrip() throws {
        let state = try DensityState(features: 2, components: 2, counts: [1, 2, 3, 4], vectors: 5, nonFinite: 6)
        let decoded = try JSONDecoder().decode(DensityState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
        #expect(decoded.components == 2)
        let flat = try DensityState(features: 2, components: nil, counts: [0, 1], vectors: 1 << 40)
        #expect(try JSONDecoder().decode(DensityState.self, from: JSONEncoder().encode(flat)) == flat)
    }

    /// The range check's one-pass answer equals a search for the first count outside `0...limit`,
    /// with a bad count anywhere (or none), of any size, against small limits and the largest.
    @Test func theFirstCountOutOfRangeIsFoundWherever() {
        var rng = SplitMix64(seed: 42)
        for limit: Int64 in [0, 1, 4096, 1 << 40, .max] {
            for trial in 0..<200 {
                var counts = (0..<Int.random(in: 0...100, using: &rng)).map { _ in Int64.random(in: 0...limit, using: &rng) }
                if trial % 4 != 0, !counts.isEmpty {
                    let bad: [Int64] = [-1, .min, -(1 << 40)] + (limit < .max ? [limit + 1, .max] : [])
                    for _ in 0..<Int.random(in: 1...3, using: &rng) {
                        counts[Int.random(in: 0..<counts.count, using: &rng)] = bad.randomElement(using: &rng)!
                    }
                }
                let expected = counts.firstIndex { $0 < 0 || $0 > limit }
                #expect(counts.withUnsafeBufferPointer { DensityState.firstOutOfRange($0, upTo: limit) } == expected,
                        "limit \(limit), counts \(counts)")
            }
        }
    }
}
