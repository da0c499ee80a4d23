@testable import DensityStore
import Testing

/// The store's errors speak the library's terms: what was wrong with which value (the path, the
/// run, the step, the setting), and a fix that names no command-line flag or command, since the
/// library also serves the web server and other programs. A front end words its own fix from the
/// cases' data (``StoreError/problem``).
@Suite struct StoreErrorTests {
    /// One of every case, with values that show up in the text.
    static let all: [StoreError] = [
        .notADatabase(path: "/tmp/x.sqlite", detail: "file is not a database"),
        .notAStore(path: "/tmp/x.sqlite", reason: "it has no runs table"),
        .schemaTooNew(path: "/tmp/x.sqlite", unknown: "0099", latestKnown: "0007"),
        .migrationChanged(path: "/tmp/x.sqlite", version: "0002", name: "chunks"),
        .needsMigration(path: "/tmp/x.sqlite", pending: ["0006_a", "0007_b"]),
        .networkFileSystem(path: "/nfs/x.sqlite", fileSystem: "nfs4"),
        .unknownRun(name: "gone", known: []),
        .unknownRun(name: "gone", known: ["a", "b"]),
        .duplicateRun(name: "twice"),
        .invalidRunSetting("a run name must not contain a NUL character"),
        .shapeMismatch(run: "r", expected: "8 features", actual: "9 features"),
        .stepNotIncreasing(run: "r", step: 5, latest: 10),
        .countsDecreased(run: "r", step: 20, previousStep: 10, detail: "vectors 3 < 4"),
        .countsOutgrewVectors(run: "r", step: 20, previousStep: 10, detail: "feature 2 grew by 9"),
        .beyondSupportedRange(run: "r", step: 20, detail: "vectors 2^62"),
        .inconsistentHistory(run: "r", step: 20, previousStep: 10, detail: "counts fell"),
        .emptyWindow(run: "r", from: 10, to: 20),
        .indexOutOfRange(run: "r", what: "feature", index: 9, size: 8),
        .corruptChunk(run: "r", step: 20, component: 0, chunk: 1, reason: "checksum"),
        .conflictingState(run: "r", step: 20, rank: 1),
        .rankRequired(run: "r", worldSize: 4),
        .worldSizeMismatch(run: "r", worldSize: 2, given: 3),
        .rankStepCompleted(run: "r", step: 20, rank: 1, latest: 30),
        .mergeConflict(run: "r", step: 20, rank: nil),
        .runSettingsDiffer(run: "r", detail: "fire threshold 0 vs 0.5"),
        .settingOutOfRange(.rank, value: "5", expected: "0 to 3"),
        .notCreatedYet(path: "/tmp/x.sqlite"),
        .mergeIntoItself(path: "/tmp/x.sqlite"),
        .storageFailed(path: "/tmp/x.sqlite", cause: .full, detail: "SQLite error 13 (database or disk is full)"),
        .storageFailed(path: "/tmp/x.sqlite", cause: .busy, detail: "SQLite error 5 (database is locked)"),
    ]

    @Test(arguments: all)
    func messagesNameNoFlagOrCommand(error: StoreError) {
        let text = error.description
        #expect(!text.contains("--"), "a flag in library text: \(text)")
        #expect(!text.contains("`density"), "a command in library text: \(text)")
        #expect(!text.contains("density "), "the command-line program in library text: \(text)")
    }

    @Test(arguments: all)
    func theDescriptionIsTheProblemThenItsRemedy(error: StoreError) {
        #expect(error.description == (error.remedy.map { "\(error.problem); \($0)" } ?? error.problem))
        #expect(!error.problem.isEmpty)
    }

    @Test func theProblemNamesTheValuesThatWereWrong() {
        #expect(StoreError.notADatabase(path: "/tmp/x.sqlite", detail: "d").problem.contains("'/tmp/x.sqlite'"))
        #expect(StoreError.stepNotIncreasing(run: "r", step: 5, latest: 10).problem.contains("step 5"))
        #expect(StoreError.stepNotIncreasing(run: "r", step: 5, latest: 10).problem.contains("(step 10)"))
        #expect(StoreError.worldSizeMismatch(run: "r", worldSize: 2, given: 3).problem.contains("world size 3 was given"))
        #expect(StoreError.rankRequired(run: "r", worldSize: 4).remedy?.contains("world size of 4") == true)
        #expect(StoreError.unknownRun(name: "gone", known: ["a", "b"]).remedy == nil)
    }

    @Test func sqliteFailuresAreToldByTheirCauseAndKind() {
        let cases: [(Int32, StoreError.StorageCause, ProblemKind)] = [
            (13, .full, .unavailable), (8, .readOnly, .unavailable), (3, .permission, .unavailable),
            (14, .cannotOpen, .unavailable), (10 | (12 << 8), .io, .unavailable), (5, .busy, .busy), (6, .busy, .busy),
            (17, .busy, .busy), (11, .damaged, .damaged), (26, .damaged, .damaged), (7, .noMemory, .unavailable),
            (19, .other, .internal),
        ]
        for (code, cause, kind) in cases {
            let error = StoreError(SQLiteError(code: code, message: "m"), path: "/tmp/s.sqlite")
            #expect(error == .storageFailed(path: "/tmp/s.sqlite", cause: cause, detail: SQLiteError(code: code, message: "m").description))
            #expect(error.kind == kind, "code \(code)")
            #expect(error.problem.contains("'/tmp/s.sqlite'") && error.problem.contains("SQLite error \(code)"))
        }
    }

    @Test func everyErrorHasTheKindItsCallerActsOn() {
        #expect(StoreError.unknownRun(name: "gone", known: []).kind == .notFound)
        #expect(SelectionError.noCheckpointYet(run: "r", pending: []).kind == .notFound)
        #expect(SelectionError.beforeFirstCheckpoint(run: "r", step: 1, first: 5).kind == .invalidInput)
        #expect(StoreError.settingOutOfRange(.threshold, value: "2", expected: "a density in (0, 1]").kind == .invalidInput)
        #expect(StoreError.stepNotIncreasing(run: "r", step: 5, latest: 10).kind == .conflict)
        #expect(WriterLockError.heldByAnotherWriter(run: "r", pid: 1).kind == .conflict)
        #expect(StoreError.notCreatedYet(path: "p").kind == .busy)
        #expect(StoreError.corruptChunk(run: "r", step: 1, component: 0, chunk: 0, reason: "x").kind == .damaged)
        #expect(QueryError.widthMismatch(first: "a", firstShape: "1", second: "b", secondShape: "2").kind == .invalidInput)
        // One protocol: each reads the same through it.
        let errors: [any DensityProblem] = [StoreError.duplicateRun(name: "d"), SelectionError.startIsNoCheckpoint(run: "r"),
                                            QueryError.notEnoughVectors(run: "r", requested: 5, available: 1)]
        for error in errors {
            #expect(error.description == (error.remedy.map { "\(error.problem); \($0)" } ?? error.problem))
        }
    }

    @Test func aStoreThatCannotBeWrittenIsAStorageFailureNotASQLiteCode() throws {
        try withTemporaryPath { path in
            let store = try DensityStore(path: path)
            try store.createRun(name: "r", features: 2)
            try store.connection.withLock { try $0.execute("PRAGMA query_only = 1") }
            let error = #expect(throws: StoreError.self) { try store.createRun(name: "s", features: 2) }
            guard case .storageFailed(path, .readOnly, _) = error else { Issue.record("\(String(describing: error))"); return }
            #expect(error?.kind == .unavailable)
        }
    }
}
