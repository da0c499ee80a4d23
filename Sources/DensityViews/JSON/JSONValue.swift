internal import DensityFormats

/// A JSON value with ordered keys and exact integers, written without Foundation's reformatting.
package enum JSONValue {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])
    /// A flat array of numbers: densities of a million features without a million enum values.
    case doubles(ArraySlice<Double>)

    /// The JSON text, compact.
    package var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    package func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += Self.number(d)
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        case .doubles(let values):
            out += "["
            var first = true
            for d in values {
                if !first { out += "," }
                first = false
                out += Self.number(d)
            }
            out += "]"
        }
    }

    /// A double as the shortest text that reads back to the same value; NaN and infinities as null.
    package static func number(_ d: Double) -> String {
        d.isFinite ? "\(d)" : "null"
    }

    /// A JSON string: the same escaping as the safetensors headers this project writes.
    package static func writeString(_ s: String, to out: inout String) {
        SafetensorsWriter.writeString(s, to: &out)
    }
}

extension JSONValue {
    /// An optional integer, null when absent.
    package static func int(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
}
