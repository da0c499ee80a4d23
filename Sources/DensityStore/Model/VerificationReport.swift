/// What ``DensityStore/verify(run:quick:progress:)`` checked and every problem it found.
public struct VerificationReport: Sendable, Hashable {
    /// One thing wrong with the store: SQLite's own finding, or a damaged chunk or checkpoint.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// The run, when the problem is in one.
        public let run: String?
        /// The checkpoint's step, when the problem is in one.
        public let step: Int64?
        /// The component, when the problem is in one chunk.
        public let component: Int?
        /// The chunk, when the problem is in one chunk.
        public let chunk: Int?
        /// What is wrong, in one line: for a chunk, the same text a query reading it fails with.
        public let message: String

        /// Creates a problem.
        /// - Parameters:
        ///   - run: The run, if any.
        ///   - step: The checkpoint's step, if any.
        ///   - component: The component, if any.
        ///   - chunk: The chunk, if any.
        ///   - message: What is wrong.
        public init(run: String? = nil, step: Int64? = nil, component: Int? = nil, chunk: Int? = nil, message: String) {
            self.run = run
            self.step = step
            self.component = component
            self.chunk = chunk
            self.message = message
        }

        /// The message.
        public var description: String { message }
    }

    /// The SQLite check that ran: `integrity_check` or `quick_check`.
    public let sqliteCheck: String
    /// Runs checked.
    public let runs: Int
    /// Checkpoints checked.
    public let checkpoints: Int
    /// Chunks decoded and checked.
    public let chunks: Int
    /// Every problem found, SQLite's first.
    public let problems: [Problem]

    /// Whether nothing is wrong.
    public var isOK: Bool { problems.isEmpty }
}
