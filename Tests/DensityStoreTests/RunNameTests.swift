import DensityMetric
import Foundation
import Testing
@testable import DensityStore

/// The run-name rule: names a web address cannot carry as one path segment are refused when a run
/// is created, with the reason and the fix; runs that an older version stored under such names
/// stay readable and writable.
@Suite struct RunNameTests {
    /// Refused names, each with a word its message must contain.
    static let refused: [(name: String, mentions: String)] = [
        (".", "'.'"),
        ("..", "'..'"),
        ("/", "'/'"),
        ("a/b", "'/'"),
        ("../x", "'/'"),
        ("tab\there", "U+0009"),
        ("new\nline", "U+000A"),
        ("bell\u{7}", "U+0007"),
        ("esc\u{1B}[31m", "U+001B"),
        ("del\u{7F}", "U+007F"),
        ("c1\u{85}", "U+0085"),
        ("", "1 to 256"),
    ]

    @Test(arguments: refused.indices)
    func unsafeNamesAreRefusedAtCreate(index: Int) throws {
        let (name, mentions) = Self.refused[index]
        let store = try DensityStore(path: ":memory:")
        let error = #expect(throws: StoreError.self) { try store.createRun(name: name, features: 1) }
        guard case .invalidRunSetting(let text) = try #require(error) else {
            Issue.record("expected invalidRunSetting for \(name.debugDescription), got \(String(describing: error))")
            return
        }
        #expect(text.contains(mentions), "\(text)")
        #expect(text.contains("choose another name"), "the message says how to fix it: \(text)")
        #expect(DensityStore.runNameProblem(name) == text, "one rule, the one createRun applies")
        #expect(try store.read { try $0.runs() }.isEmpty)
    }

    /// Dots, percent signs, backslashes and spaces are fine in one segment once encoded.
    @Test func nearMissesAreAccepted() throws {
        let names = ["...", ".hidden", "a.b", "..x", "x..", "%2e%2e", "100% _like_ \\escape\\", "  spaces  ", "名前 🚀", "?q=1#frag"]
        let store = try DensityStore(path: ":memory:")
        for name in names {
            #expect(DensityStore.runNameProblem(name) == nil, "\(name.debugDescription)")
            try store.createRun(name: name, features: 2)
        }
        #expect(Set(try store.read { try $0.runs() }.map(\.run.name)) == Set(names))
    }

    /// A store written before the rule (names set in SQL, as an older version could store them):
    /// every such run is found, listed, read and written; only creating one is refused.
    @Test func existingRunsWithSuchNamesStayReadable() throws {
        try withTemporaryPath { path in
            let legacy = ["..", ".", "a/b", "tab\tnew\nline"]
            do {
                let store = try DensityStore(path: path)
                for index in legacy.indices { try store.createRun(name: "placeholder-\(index)", features: 3) }
            }
            let db = try Connection(path: path)
            for (index, name) in legacy.enumerated() {
                try db.execute("UPDATE runs SET name = ? WHERE name = ?", [.text(name), .text("placeholder-\(index)")])
            }
            let store = try DensityStore(path: path)
            #expect(Set(try store.read { try $0.runs() }.map(\.run.name)) == Set(legacy))
            for name in legacy {
                #expect(try store.read { try $0.run(named: name) }.features == 3)
                let state = try DensityState(features: 3, components: nil, counts: [1, 0, 4], vectors: 4)
                try store.appendCheckpoint(run: name, step: 10, state: state)
                #expect(try store.read { try $0.state(run: name) }.state == state, "\(name.debugDescription)")
                #expect(throws: StoreError.self) { try store.createRun(name: name, features: 3) }
            }
        }
    }
}
