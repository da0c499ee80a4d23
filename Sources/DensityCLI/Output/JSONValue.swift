/// A JSON value with ordered keys and exact integers, written without Foundation's reformatting.
enum JSONValue {
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
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
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
    static func number(_ d: Double) -> String {
        d.isFinite ? "\(d)" : "null"
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSONValue {
    /// An optional integer, null when absent.
    static func int(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }
}
