import Foundation
import Testing

/// The supported range of counts and vectors, [0, 2^62]: beyond it a state is refused with a
/// message naming the bound; within it every sum, bin and window is exact and safe.
@Suite struct NumericRangeTests {
    // MARK: - 2. Sums of counts

    @Test func theSumOfCountsNeverOverflows() throws {
        try Sandbox.with { sandbox in
            let n = InvariantTests.maxCount
            for (run, counts, mean) in [("full", [n, n, n], 1.0), ("two", [n, n, 0], 2.0 / 3.0)] {
                try sandbox.ok(["create", run, "--features", "3"])
                let stored = try InvariantTests.checkpoint(sandbox, run, step: 1, counts: counts, vectors: n)
                #expect(stored.status == 0, "\(stored)")
                #expect(!stored.stderr.contains("SQLite"), "\(stored)")
                let show = try decode(ShowOutput.self, try sandbox.db(["show", run, "--format", "json"]), keys: ShowOutput.keys)
                #expect(show.mean_density == mean)
                #expect(show.vectors == n)
                let compare = try #require(try JSONSerialization.jsonObject(
                    with: Data(try sandbox.ok(["compare", run, run, "--format", "json"]).utf8)) as? [String: Any])
                let runs = try #require(compare["runs"] as? [[String: Any]])
                #expect(runs.map { ($0["mean_density"] as? NSNumber)?.doubleValue } == [mean, mean])
                let diff = try sandbox.ok(["diff", run, "--from", "start", "--to", "1"])
                #expect(diff.contains("mean density       \(mean == 1 ? "1" : "0.666667")"), "\(diff)")
            }
            #expect(try sandbox.db(["verify"]).status == 0)
        }
    }
}
