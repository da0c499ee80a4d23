import DensityStore
import Testing

/// The one check of a window's two spellings, which the command line and the web API word.
@Suite struct WindowSpellingTests {
    @Test func eitherSpellingGivesTheSameWindow() throws {
        let window = WindowSpec(from: .exact(1000), to: .latest)
        #expect(try WindowSpelling.window(window, from: nil, to: nil) == window)
        #expect(try WindowSpelling.window(nil, from: .exact(1000), to: nil) == window)
        #expect(try WindowSpelling.window(nil, from: .offset(4), to: .offset(1)) == WindowSpec(from: .offset(4), to: .offset(1)))
        #expect(try WindowSpelling.window(nil, from: nil, to: nil) == nil)
    }

    @Test func aWindowSpelledWrongIsRefusedWithWhatIsWrong() {
        #expect(throws: WindowSpelling.Problem.both) {
            try WindowSpelling.window(WindowSpec(from: .start, to: .latest), from: .first, to: nil)
        }
        #expect(throws: WindowSpelling.Problem.both) {
            try WindowSpelling.window(WindowSpec(from: .start, to: .latest), from: nil, to: .latest)
        }
        #expect(throws: WindowSpelling.Problem.endWithoutStart) { try WindowSpelling.window(nil, from: nil, to: .exact(5)) }
        #expect(throws: WindowSpelling.Problem.endIsStart) { try WindowSpelling.window(nil, from: .first, to: .start) }
    }
}
