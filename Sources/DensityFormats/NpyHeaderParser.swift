/// Reads the Python dict literal of an `.npy` header: `{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }`.
///
/// It accepts what `ast.literal_eval` accepts for numpy's three keys (any key order, whitespace
/// between tokens, a trailing comma, `'` or `"` quotes, `(5,)` and `()`, the Python 2 `5L` suffix),
/// and refuses everything else with a message that says what it expected. It is deliberately not a
/// general Python parser: any other key or kind of value is an error, as it is for numpy.
struct NpyHeaderParser {
    /// The `'descr'` value: a type string, or the text of a structured dtype's field list.
    enum Descr: Equatable {
        /// A type string such as `<f4`.
        case simple(String)
        /// A list of fields such as `[('x', '<f4'), ('y', '<i8')]`, as written.
        case structured(String)
    }

    /// The three fields of the dict.
    struct Fields: Equatable {
        var descr: Descr
        var fortranOrder: Bool
        var shape: [Int]
    }

    private let bytes: [UInt8]
    private let utf8: Bool
    private let path: String
    private var index = 0

    private init(bytes: [UInt8], utf8: Bool, path: String) {
        self.bytes = bytes
        self.utf8 = utf8
        self.path = path
    }

    /// Parses a header dict.
    /// - Parameters:
    ///   - bytes: The dict and its padding (the bytes between the length field and the data).
    ///   - utf8: `true` for format 3.0 (UTF-8 text), `false` for 1.0 and 2.0 (Latin-1).
    ///   - path: The file's path for messages.
    /// - Returns: The descr, fortran order and shape.
    /// - Throws: ``NpyError/malformedHeader(path:reason:)``, ``NpyError/structuredDType(path:descr:)``
    ///   (as soon as a list descr is seen) or ``NpyError/invalidShape(path:shape:reason:)`` for a
    ///   dimension too large for `Int`.
    static func parse(_ bytes: ArraySlice<UInt8>, utf8: Bool, path: String) throws -> Fields {
        var parser = NpyHeaderParser(bytes: Array(bytes), utf8: utf8, path: path)
        return try parser.parseDict()
    }

    // MARK: - Grammar

    private mutating func parseDict() throws -> Fields {
        skipWhitespace()
        try expect(UInt8(ascii: "{"), "the header to start with '{'")
        var descr: Descr?
        var fortranOrder: Bool?
        var shape: [Int]?
        var seen: Set<String> = []
        skipWhitespace()
        while peek != UInt8(ascii: "}") {
            guard peek == UInt8(ascii: "'") || peek == UInt8(ascii: "\"") else {
                throw malformed("expected a quoted key or '}'")
            }
            let key = try parseString()
            guard seen.insert(key).inserted else { throw malformed("the key '\(key)' appears twice") }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after the key '\(key)'")
            skipWhitespace()
            switch key {
            case "descr": descr = try parseDescr()
            case "fortran_order": fortranOrder = try parseBool(key: key)
            case "shape": shape = try parseShape()
            default:
                throw malformed("unexpected key '\(key)'; numpy writes exactly 'descr', 'fortran_order' and 'shape'")
            }
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if peek != UInt8(ascii: "}") {
                throw malformed("expected ',' or '}' after the value of '\(key)'")
            }
        }
        index += 1
        skipWhitespace()
        guard index == bytes.count else { throw malformed("unexpected text after the closing '}'") }
        guard let descr else { throw malformed("the key 'descr' is missing") }
        guard let fortranOrder else { throw malformed("the key 'fortran_order' is missing") }
        guard let shape else { throw malformed("the key 'shape' is missing") }
        return Fields(descr: descr, fortranOrder: fortranOrder, shape: shape)
    }

    private mutating func parseDescr() throws -> Descr {
        switch peek {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .simple(try parseString())
        case UInt8(ascii: "["):
            throw NpyError.structuredDType(path: path, descr: try bracketedText())
        default:
            throw malformed("'descr' must be a type string such as '<f4'")
        }
    }

    private mutating func parseBool(key: String) throws -> Bool {
        let start = index
        while let byte = peek, Self.isIdentifier(byte) { index += 1 }
        switch text(start..<index) {
        case "True": return true
        case "False": return false
        default: throw malformed("'\(key)' must be True or False", at: start)
        }
    }

    private mutating func parseShape() throws -> [Int] {
        let start = index
        try expect(UInt8(ascii: "("), "'shape' to be a tuple such as (4, 2, 3)")
        var dimensions: [Int] = []
        var sawComma = false
        skipWhitespace()
        while peek != UInt8(ascii: ")") {
            dimensions.append(try parseInt(tupleStart: start))
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                index += 1
                sawComma = true
                skipWhitespace()
            } else if peek != UInt8(ascii: ")") {
                throw malformed("expected ',' or ')' in 'shape'")
            }
        }
        index += 1
        guard dimensions.count != 1 || sawComma else {
            throw malformed("'shape' must be a tuple; a one-dimensional shape is written (\(dimensions[0]),)", at: start)
        }
        return dimensions
    }

    private mutating func parseInt(tupleStart: Int) throws -> Int {
        let start = index
        var negative = false
        if peek == UInt8(ascii: "-") || peek == UInt8(ascii: "+") {
            negative = peek == UInt8(ascii: "-")
            index += 1
        }
        let digitsStart = index
        while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        guard index > digitsStart else { throw malformed("expected an integer in 'shape'", at: start) }
        let digits = text(digitsStart..<index)
        if peek == UInt8(ascii: "L") || peek == UInt8(ascii: "l") { index += 1 }  // Python 2 long
        guard let magnitude = Int(digits) else {
            var end = index
            while end < bytes.count, bytes[end] != UInt8(ascii: ")") { end += 1 }
            throw NpyError.invalidShape(path: path, shape: text(tupleStart..<min(end + 1, bytes.count)),
                                        reason: "dimension \(digits) is too large")
        }
        return negative ? -magnitude : magnitude
    }

    /// A Python string literal in single or double quotes; a backslash escapes the next character.
    private mutating func parseString() throws -> String {
        let start = index
        let quote = bytes[index]
        index += 1
        var content: [UInt8] = []
        while true {
            guard let byte = peek, byte != UInt8(ascii: "\n") else {
                throw malformed("a string is not closed", at: start)
            }
            index += 1
            if byte == quote { break }
            if byte == UInt8(ascii: "\\"), let next = peek {
                index += 1
                if next != quote && next != UInt8(ascii: "\\") { content.append(byte) }
                content.append(next)
            } else {
                content.append(byte)
            }
        }
        return decode(content)
    }

    /// The text of a bracketed list, brackets included, for a structured dtype's message.
    private mutating func bracketedText() throws -> String {
        let start = index
        var depth = 0
        var quote: UInt8?
        while let byte = peek {
            index += 1
            if let open = quote {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == open { quote = nil }
                continue
            }
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""): quote = byte
            case UInt8(ascii: "["), UInt8(ascii: "("): depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 {
                    let full = text(start..<index)
                    return full.count > 200 ? String(full.prefix(200)) + "...]" : full
                }
            default: break
            }
        }
        throw malformed("the list in 'descr' is not closed", at: start)
    }

    // MARK: - Tokens

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C {
            index += 1
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard peek == byte else { throw malformed("expected \(what)") }
        index += 1
    }

    private static func isIdentifier(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }

    private func decode(_ content: [UInt8]) -> String {
        utf8 ? String(decoding: content, as: UTF8.self) : String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))
    }

    private func text(_ range: Range<Int>) -> String { decode(Array(bytes[range])) }

    /// A malformed-header error that quotes the header and points at the offending byte.
    private func malformed(_ reason: String, at position: Int? = nil) -> NpyError {
        let at = min(position ?? index, bytes.count)
        var header = text(0..<bytes.count)
        while let last = header.last, last == " " || last == "\n" { header.removeLast() }
        if header.count > 200 { header = String(header.prefix(200)) + "..." }
        header = String(header.unicodeScalars.map { $0.properties.generalCategory == .control
            ? $0.escaped(asASCII: true) : String($0) }.joined())
        let found = at < bytes.count ? "at byte \(at) of the dict" : "at the end of the dict"
        return .malformedHeader(path: path, reason: "\(reason) (\(found): \(header))")
    }
}
