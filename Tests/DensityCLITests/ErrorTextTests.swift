@testable import DensityCLI
import DensityStore
import DensityViews
import Testing

/// The command line words the library's typed errors: the library's account of what was wrong,
/// then the fix as the flags and commands that make it.
@Suite struct ErrorTextTests {
    /// The rendered text of `error`.
    static func text(_ error: any Error) -> String { "\(ErrorText.render(error))" }

    @Test(arguments: [
        (StoreError.notADatabase(path: "x.sqlite", detail: "file is not a database"), ["'x.sqlite'", "--db", "`density create`"]),
        (StoreError.notAStore(path: "x.sqlite", reason: "no runs table"), ["no runs table", "pass --db"]),
        (StoreError.schemaTooNew(path: "x.sqlite", unknown: "0099", latestKnown: "0007"), ["0099", "Nothing was changed", "upgrade density"]),
        (StoreError.needsMigration(path: "x.sqlite", pending: ["0007_b"]), ["0007_b", "`density migrate`"]),
        (StoreError.networkFileSystem(path: "/nfs/x", fileSystem: "nfs4"), ["nfs4", "Nothing was written", "density merge a.sqlite b.sqlite --into job.sqlite"]),
        (StoreError.unknownRun(name: "gone", known: []), ["'gone'", "no runs", "`density create`"]),
        (StoreError.duplicateRun(name: "twice"), ["'twice' exists already", "`density ingest`"]),
        (StoreError.notCreatedYet(path: "x.sqlite"), ["no schema", "`density create` has finished"]),
        (StoreError.stepNotIncreasing(run: "r", step: 5, latest: 10), ["step 5", "(step 10)", "density resume r --at STEP --discard-later"]),
        (StoreError.inconsistentHistory(run: "r", step: 2, previousStep: 1, detail: "counts fell"), ["counts fell", "`density verify`"]),
        (StoreError.conflictingState(run: "r", step: 20, rank: 1), ["rank 1", "density resume r --at STEP --discard-later"]),
        (StoreError.rankRequired(run: "r", worldSize: 2), ["2 ranks", "--rank R --world-size 2"]),
        (StoreError.worldSizeMismatch(run: "r", worldSize: 2, given: 3), ["world size 2", "--world-size 3"]),
        (StoreError.mergeConflict(run: "r", step: 20, rank: nil), ["Nothing was changed", "density diff r --from start --to 20 --db STORE"]),
    ] as [(StoreError, [String])])
    func storeErrorsGetTheCommandThatFixesThem(error: StoreError, mentions: [String]) {
        let text = Self.text(error)
        #expect(text.hasPrefix(error.problem + "; "), "\(text)")
        for word in mentions { #expect(text.contains(word), "\(word) missing from: \(text)") }
        #expect(error.remedy.map { !text.contains($0) } ?? true, "the library's own fix is replaced: \(text)")
    }

    @Test func errorsWithoutACommandToSuggestStayAsTheLibraryWordsThem() {
        for error in [StoreError.shapeMismatch(run: "r", expected: "8 features", actual: "9 features"),
                      .unknownRun(name: "gone", known: ["a"])] {
            #expect(Self.text(error) == error.description)
        }
    }

    @Test func selectionAndComponentErrorsNameTheFlag() {
        #expect(Self.text(SelectionError.noCheckpointYet(run: "new", pending: []))
                    == "run 'new' has no checkpoints yet; add one with `density checkpoint`, `density ingest` or `density record`")
        let none = ComponentError.noComponents(run: "r")
        #expect(!none.description.contains("--"))
        #expect(Self.text(none) == "run 'r' has no components; leave out --component")
        let required = ComponentError.componentRequired(run: "m", components: 2, why: "a trend follows one")
        #expect(!required.description.contains("--"))
        #expect(Self.text(required) == "run 'm' has 2 components; a trend follows one: pass --component 0 to 1")
    }
}
