import Foundation
import Testing

/// `density runs --format json`: one entry per run, counted from what the test ingested.
@Suite struct RunsCommandTests {
    @Test func listsEveryRunWithItsCheckpointsAndVectors() throws {
        try Sandbox.with { box in
            // Created out of alphabetical order, with and without components and checkpoints.
            let zeta = try box.recordRun("zeta", features: 12, steps: [5, 7, 1000], batches: [3, 11, 2])
            let alpha = try box.recordRun("alpha", features: 6, components: 2, steps: [0], batches: [9], seed: 4)
            try box.ok(["create", "empty", "--features", "3", "--components", "4"])

            let runs = try box.runs()
            #expect(runs == [
                "zeta": RunRow(name: "zeta", features: 12, components: nil, checkpoints: 3, latest_step: 1000, vectors: 3 + 11 + 2),
                "alpha": RunRow(name: "alpha", features: 6, components: 2, checkpoints: 1, latest_step: 0, vectors: 9),
                "empty": RunRow(name: "empty", features: 3, components: 4, checkpoints: 0, latest_step: nil, vectors: 0),
            ])
            #expect(zeta.checkpoints.last?.vectors == 16 && alpha.checkpoints.last?.vectors == 9)
            // The raw text: nulls are written, not left out.
            let raw = try box.ok(["runs", "--format", "json"])
            #expect(raw.contains(#""latest_step":null"#) && raw.contains(#""components":null"#), "\(raw)")
        }
    }

    @Test func anEmptyStoreListsNoRuns() throws {
        try Sandbox.with { box in
            try box.ok(["migrate"])
            #expect(try box.ok(["runs", "--format", "json"]).trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
            let table = try box.db(["runs"])
            #expect(table.status == 0 && table.stderr.contains("density create"), "\(table)")
        }
    }

    @Test func csvHasOneRowPerRun() throws {
        try Sandbox.with { box in
            try box.recordRun("b,c", features: 5, steps: [1, 2], batches: [4, 6])
            try box.ok(["create", "x", "--features", "2", "--components", "3"])
            let csv = try box.ok(["runs", "--format", "csv"])
            let lines = Set(csv.split(separator: "\n").map(String.init))
            let header = "name,features,components,checkpoints,latest_step,vectors,world_size,pending_steps,store,dead,dead_fraction,"
                + "dense,dense_fraction,mean_log10_density,latest_checkpoint_at,steps_per_second"
            #expect(lines.count == 3 && lines.contains(header), "\(csv)")
            #expect(lines.contains { $0.hasPrefix(#""b,c",5,,2,2,10,1,0,"# + box.db + ",") }, "\(csv)")
            #expect(lines.contains { $0.hasPrefix("x,2,3,0,,0,1,0,\(box.db),,") }, "\(csv)")
        }
    }

    @Test func namesWithQuotesAndUnicodeSurviveJSON() throws {
        try Sandbox.with { box in
            let name = "l1=1e-3 \"wide\" \\ ü·λ {\"x\": 1}"
            try box.recordRun(name, features: 4, steps: [3], batches: [6])
            #expect(try box.runs()[name] == RunRow(name: name, features: 4, components: nil, checkpoints: 1, latest_step: 3, vectors: 6))
            let shown = try decode(ShowOutput.self, try box.db(["show", name, "--format", "json"]), keys: ShowOutput.keys)
            #expect(shown.run == name)
        }
    }
}
