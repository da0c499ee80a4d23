import DensityStore
import DensityViews

/// A request's query parameters, read strictly: an unknown or repeated name, or a value that
/// does not parse, is a 400 that names the parameter.
struct QueryParameters: Sendable {
    /// The parameters as sent, decoded.
    let values: [String: String]

    /// Reads `pairs`, refusing names outside `allowed` and names given twice.
    /// - Throws: ``RequestError`` (400).
    init(_ pairs: [(String, String)], allowed: Set<String>) throws {
        var values: [String: String] = [:]
        for (name, value) in pairs {
            guard allowed.contains(name) else {
                throw RequestError.bad(name, "unknown parameter '\(name)'; this endpoint takes \(allowed.sorted().joined(separator: ", "))")
            }
            guard values[name] == nil else { throw RequestError.bad(name, "parameter '\(name)' is given twice") }
            values[name] = value
        }
        self.values = values
    }

    /// A step spec (a step, latest, first, start or -K).
    func step(_ name: String) throws -> StepSpec? {
        guard let text = values[name] else { return nil }
        guard let spec = StepSpec(parsing: text) else {
            throw RequestError.bad(name, "\(name)='\(text)' is not a step: give a step number, latest, first, start or -K")
        }
        return spec
    }

    /// A window `A:B`.
    func window(_ name: String) throws -> WindowSpec? {
        guard let text = values[name] else { return nil }
        do { return try WindowSpec(parsing: text) } catch { throw RequestError.bad(name, "\(name)='\(text)': \(error)") }
    }

    /// An integer within `range`.
    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw RequestError.bad(name, "\(name)='\(text)' must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A finite number.
    func double(_ name: String) throws -> Double? {
        guard let text = values[name] else { return nil }
        guard let value = Double(text), value.isFinite else { throw RequestError.bad(name, "\(name)='\(text)' must be a number") }
        return value
    }
}
