import DensityMetric
import DensityStore
import Foundation
import Testing

/// `density compare RUN…` with more than two runs, and across stores: each run as `show` gives it
/// (the stored summaries) at the step compared.
@Suite struct CompareManyTests {
    /// `compare … --format json` decoded: the step and each run's `show` fields.
    static func compare(_ box: Sandbox, _ arguments: [String]) throws -> CompareCommandTests.Output {
        let result = try box.density(["compare"] + arguments + ["--format", "json"])
        return try decode(CompareCommandTests.Output.self, result, keys: CompareCommandTests.Output.keys)
    }

    @Test func threeRunsAreEachReadAtTheLatestStepAllHaveReached() throws {
        try Sandbox.with { box in
            try CompareCommandTests.setUp(box)
            try box.recordIncrements("e", features: 6, steps: [12, 22], vectors: [30, 30], increments: [[1, 1, 0, 0, 0, 0], [0, 0, 30, 0, 0, 0]])
            let output = try Self.compare(box, ["c", "d", "e", "--db", box.db])
            // latest steps: c 50, d 35, e 22: compared at 22, each at its latest checkpoint at or before it
            #expect(output.step == 22)
            #expect(output.runs.map(\.run) == ["c", "d", "e"])
            #expect(output.runs.map(\.step) == [20, 15, 22])
            for run in output.runs {
                #expect(run == (try CompareCommandTests.show(box, run.run, run.step)), "\(run.run)")
            }
            let atStep = try Self.compare(box, ["e", "c", "d", "--step", "30", "--db", box.db])
            #expect(atStep.runs.map(\.step) == [22, 30, 25])
            // a run of another width is named
            let mixed = try box.db(["compare", "c", "d", "w"])
            expectFailure(mixed, mentioning: ["'c'", "'w'"])
            // one run is not a comparison
            #expect(try box.db(["compare", "c"]).status == 64)
            // the table has a column per run
            let table = try box.ok(["compare", "c", "d", "e"])
            #expect(table.contains("every run has reached") && table.contains(" e"), "\(table)")
        }
    }

    @Test func runsFromSeveralStoresCompareWithClashingNamesToldApart() throws {
        try Sandbox.with { box in
            try CompareCommandTests.setUp(box)
            let other = box.path("other.sqlite")
            let store = try DensityStore(path: other)
            try store.createRun(name: "d", features: 6)
            try store.appendCheckpoint(run: "d", step: 20, state: try DensityState(features: 6, components: nil, counts: [5, 0, 0, 9, 0, 1], vectors: 10))
            // 'd' is in both stores: it must be named
            expectFailure(try box.density(["compare", "c", "d", "--db", box.db, "--db", other]), mentioning: ["'d@store.sqlite'", "'d@other.sqlite'"])
            let output = try Self.compare(box, ["c", "d@other.sqlite", "d@store.sqlite", "--db", box.db, "--db", other])
            // latest steps 50, 20 and 35: compared at 20
            #expect(output.step == 20)
            #expect(output.runs.map(\.run) == ["c", "d@other.sqlite", "d@store.sqlite"])
            #expect(output.runs.map(\.step) == [20, 20, 15])
            #expect(output.runs[1].vectors == 10 && output.runs[1].dead == 3 && output.runs[1].features == 6)
            var fromItsStore = try CompareCommandTests.show(box, "d", 15)
            fromItsStore.run = "d@store.sqlite"
            #expect(output.runs[2] == fromItsStore)
        }
    }
}
