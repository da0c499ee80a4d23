import Foundation
import Testing

/// `--rank R --world-size W` on the writing commands, pending steps in `runs` and `show`, and
/// `density merge` of stores written on different machines.
@Suite struct RankCommandTests {
    static func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    @Test func ranksCompleteAStepTogetherAndMergeCombinesMachines() throws {
        try Sandbox.with { box in
            // Rank r's state at step s: counts [s, r, 1], s + r + 1 vectors.
            func state(_ step: Int64, rank: Int64) throws -> String {
                try Numpy.writeState("s\(step)-r\(rank).safetensors", counts: [step, rank, 1], shape: [3],
                                     vectors: step + rank + 1, step: step, in: box)
            }
            for db in ["a.sqlite", "b.sqlite"] {
                #expect(try box.density(["create", "r", "--features", "3", "--db", box.path(db)]).status == 0)
            }
            let a = ["--db", box.path("a.sqlite")], b = ["--db", box.path("b.sqlite")]
            let first = try box.density(["checkpoint", "r", "--rank", "0", "--world-size", "2", try state(1, rank: 0)] + a)
            #expect(first.status == 0 && first.stderr.contains("step 1 waits for rank 1"), "\(first)")
            let runs = try #require(try Self.json(box.density(["runs", "--format", "json"] + a).stdout) as? [[String: Any]])
            #expect(runs.first?["world_size"] as? Int == 2 && runs.first?["pending_steps"] as? Int == 1 && runs.first?["checkpoints"] as? Int == 0)
            expectFailure(try box.density(["checkpoint", "r", "--step", "2", try state(2, rank: 0)] + a),
                          mentioning: ["2 ranks", "--rank R --world-size 2"])
            expectFailure(try box.density(["checkpoint", "r", "--rank", "0", "--world-size", "3", try state(2, rank: 0)] + a),
                          mentioning: ["world size 2", "--world-size 3"])
            expectFailure(try box.density(["checkpoint", "r", "--rank", "2", "--world-size", "2", try state(2, rank: 0)] + a),
                          mentioning: ["--rank must be 0 to 1"])
            // Machine a also has rank 0 of step 2; machine b has rank 1 of steps 1 and 2.
            #expect(try box.density(["checkpoint", "r", "--rank", "0", "--world-size", "2", try state(2, rank: 0)] + a).status == 0)
            #expect(try box.density(["checkpoint", "r", "--rank", "1", "--world-size", "2", try state(1, rank: 1)] + b).status == 0)
            #expect(try box.density(["checkpoint", "r", "--rank", "1", "--world-size", "2", try state(2, rank: 1)] + b).status == 0)
            let merge = try box.density(["merge", box.path("a.sqlite"), box.path("b.sqlite"), "--into", box.path("m.sqlite")])
            #expect(merge.status == 0 && merge.stderr.contains("2 steps completed"), "\(merge)")
            let show = try #require(try Self.json(box.density(["show", "r", "--format", "json", "--db", box.path("m.sqlite")]).stdout) as? [String: Any])
            #expect(show["step"] as? Int == 2 && show["vectors"] as? Int == (2 + 0 + 1) + (2 + 1 + 1))
            #expect((show["pending_steps"] as? [Any])?.isEmpty == true)
            #expect(show["world_size"] as? Int == 2 && show["approximate"] as? Bool == false)
            let csv = try box.density(["show", "r", "--format", "csv", "--db", box.path("a.sqlite"), "--step", "latest"])
            #expect(csv.status != 0, "store a has no complete step yet: \(csv)")
            let partial = try #require(try Self.json(box.density(["runs", "--format", "json"] + a).stdout) as? [[String: Any]])
            #expect(partial.first?["pending_steps"] as? Int == 2)
            let diff = try #require(try Self.json(box.density(["diff", "r", "--from", "1", "--to", "2", "--format", "json",
                                                               "--db", box.path("m.sqlite")]).stdout) as? [String: Any])
            // Window (1, 2]: counts (2+2, 0+1, 2) - (1+1, 0+1, 2) = (2, 0, 0) over 7 - 5 = 2 vectors.
            #expect(diff["density"] as? [Double] == [1, 0, 0])
            expectFailure(try box.density(["merge", box.path("a.sqlite"), "--into", box.path("a.sqlite")]),
                          mentioning: ["a.sqlite", "cannot be merged into itself"])
        }
    }
}
