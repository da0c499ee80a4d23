import Foundation
import Testing

/// Which store a command uses: `--db`, else `$DENSITY_DB`, else `./density.sqlite`.
@Suite struct StoreLocationTests {
    @Test func defaultIsDensitySqliteInTheWorkingDirectory() throws {
        try Sandbox.with { box in
            let create = try box.density(["create", "here", "--features", "4"])
            try #require(create.status == 0, "\(create)")
            #expect(FileManager.default.fileExists(atPath: box.path("density.sqlite")), "files: \(box.listing())")
            let rows = try decode([RunRow].self, try box.density(["runs", "--format", "json"]), keys: RunRow.keys)
            #expect(rows.map(\.name) == ["here"])
            // Another folder has no store.
            let elsewhere = box.root.appendingPathComponent("io")
            let missing = try box.density(["runs", "--format", "json"], cwd: elsewhere)
            expectFailure(missing, mentioning: ["density.sqlite", "density create"])
        }
    }

    @Test func densityDBEnvironmentVariableIsTheFallback() throws {
        try Sandbox.with { box in
            let envPath = box.path("from-env.sqlite")
            let env = ["DENSITY_DB": envPath]
            let create = try box.density(["create", "viaenv", "--features", "4"], environment: env)
            try #require(create.status == 0, "\(create)")
            #expect(FileManager.default.fileExists(atPath: envPath) && !FileManager.default.fileExists(atPath: box.path("density.sqlite")),
                    "the store must be at $DENSITY_DB, not ./density.sqlite: \(box.listing())")
            let rows = try decode([RunRow].self, try box.density(["runs", "--format", "json"], environment: env), keys: RunRow.keys)
            #expect(rows.map(\.name) == ["viaenv"])

            // --db wins over the environment, before or after the subcommand.
            try box.ok(["create", "viadb", "--features", "4"])
            for args in [["runs", "--format", "json", "--db", box.db], ["--db", box.db, "runs", "--format", "json"]] {
                let rows = try decode([RunRow].self, try box.density(args, environment: env), keys: RunRow.keys)
                #expect(rows.map(\.name) == ["viadb"], "\(args)")
            }
            // An empty DENSITY_DB means unset.
            let empty = try box.density(["create", "default", "--features", "4"], environment: ["DENSITY_DB": ""])
            #expect(empty.status == 0, "\(empty)")
            #expect(FileManager.default.fileExists(atPath: box.path("density.sqlite")))
        }
    }

    @Test func dbBeforeTheSubcommandIsUsed() throws {
        try Sandbox.with { box in
            let create = try box.density(["--db", box.db, "create", "early", "--features", "4"])
            try #require(create.status == 0, "\(create)")
            #expect(!FileManager.default.fileExists(atPath: box.path("density.sqlite")))
            #expect(try box.runs().keys.sorted() == ["early"])
        }
    }

    @Test func migrateCreatesAStoreThatQueriesAccept() throws {
        try Sandbox.with { box in
            let result = try box.db(["migrate"])
            #expect(result.status == 0, "\(result)")
            #expect(try box.runs().isEmpty)
        }
    }
}
