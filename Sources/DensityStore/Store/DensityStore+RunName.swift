// MARK: - Run names

extension DensityStore {
    /// Why `name` cannot name a new run, or `nil` when it can: the one rule for run names, which
    /// ``checkRunSettings(name:features:components:fireThreshold:chunkFeatures:keyframeInterval:worldSize:metadata:)``
    /// applies when a run is created (runs already stored keep their names and stay readable).
    ///
    /// A name has 1 to 256 characters (what the schema's `length(name)` counts) and must be usable
    /// as one segment of a web address, since the web UI reaches a run at `/runs/<name>`:
    /// - not `.` or `..`, which browsers and URL parsers resolve as steps between folders;
    /// - no `/`, which separates the segments of a web address (many servers decode `%2F` before
    ///   routing);
    /// - no control characters (NUL, tab, newline, escape, DEL …), which also garble terminals.
    /// - Parameter name: The proposed name.
    /// - Returns: The problem and how to fix it, as one sentence; `nil` for a good name.
    package static func runNameProblem(_ name: String) -> String? {
        let fix = "choose another name, e.g. 'l1-1e-3' or 'seed-8'"
        let length = name.unicodeScalars.count
        guard (1...256).contains(length) else {
            return "a run name must have 1 to 256 characters, got \(length); \(fix)"
        }
        if name == "." || name == ".." {
            return "a run cannot be named '\(name)': a web address cannot reach it (browsers read '.' and '..' as steps between folders); \(fix)"
        }
        if name.unicodeScalars.contains("/") {
            return "a run name must not contain '/' (got '\(name)'): it separates the parts of a web address; \(fix)"
        }
        if let control = name.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            let code = "U+" + String(control.value, radix: 16, uppercase: true).leftPadded(to: 4)
            return "a run name must not contain control characters (found \(code)\(control == "\0" ? ", NUL" : "") in \(name.debugDescription)); \(fix)"
        }
        return nil
    }
}

private extension String {
    /// The text with zeros in front up to `width` characters.
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
