/// An SVG element: a name, attributes in the order given, and children or text. Rendering escapes
/// every attribute value and text, so a run name or metadata can never break the markup.
///
/// A tiny builder, not a DOM: the report's panels are trees of these, rendered once. Inline in the
/// HTML page the root needs no namespace; ``standalone`` adds it for a `.svg` file.
package struct SVG: Sendable, Hashable {
    /// The element's name (`svg`, `rect`, `text` …); a constant of the code, never user input.
    package var name: String
    /// Attribute names and raw (unescaped) values, in output order.
    package var attributes: [Attribute]
    /// Child elements, rendered after ``text``.
    package var children: [SVG]
    /// Raw (unescaped) text content.
    package var text: String?

    /// One attribute: a name and its raw value.
    package struct Attribute: Sendable, Hashable {
        package var name: String
        package var value: String
    }

    /// An element.
    /// - Parameters:
    ///   - name: The element's name.
    ///   - attributes: Names and raw values, in output order.
    ///   - text: Raw text content.
    ///   - children: Child elements.
    package init(_ name: String, _ attributes: KeyValuePairs<String, String> = [:], text: String? = nil, _ children: [SVG] = []) {
        self.name = name
        self.attributes = attributes.map { Attribute(name: $0.key, value: $0.value) }
        self.children = children
        self.text = text
    }

    /// A copy with one more attribute at the end.
    package func with(_ name: String, _ value: String) -> SVG {
        var copy = self
        copy.attributes.append(Attribute(name: name, value: value))
        return copy
    }

    /// The value of an attribute, if set.
    package func attribute(_ name: String) -> String? {
        attributes.last { $0.name == name }?.value
    }

    // MARK: - Rendering

    /// The element as markup.
    package var xml: String {
        var out = ""
        render(into: &out)
        return out
    }

    /// Appends the element's markup to `out`.
    package func render(into out: inout String) {
        out += "<" + name
        for attribute in attributes {
            out += " " + attribute.name + "=\""
            Self.escape(attribute.value, into: &out, inAttribute: true)
            out += "\""
        }
        if text == nil && children.isEmpty {
            out += "/>"
            return
        }
        out += ">"
        if let text { Self.escape(text, into: &out, inAttribute: false) }
        for child in children { child.render(into: &out) }
        out += "</" + name + ">"
    }

    /// A standalone SVG document (for a `.svg` file): the XML declaration and the root with its
    /// namespace. The namespace name is an identifier, not something a viewer fetches.
    package static func standalone(_ root: SVG) -> String {
        var root = root
        if root.attribute("xmlns") == nil { root.attributes.insert(Attribute(name: "xmlns", value: namespace), at: 0) }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + root.xml + "\n"
    }

    /// The SVG namespace name, for standalone files only (the inline SVG of the page needs none).
    package static let namespace = "http://www.w3.org/2000/svg"

    // MARK: - Escaping

    /// Text made safe for XML and HTML content or a double-quoted attribute value.
    package static func escape(_ text: String) -> String {
        var out = ""
        escape(text, into: &out, inAttribute: true)
        return out
    }

    /// Escapes `&`, `<`, `>`, `"` and `'`; in attributes also tab, line feed and carriage return
    /// (which parsers would otherwise turn into spaces); replaces characters XML 1.0 forbids even
    /// escaped (most C0 controls, U+FFFE, U+FFFF; a String holds no lone surrogate) with U+FFFD.
    /// The slashes of `://` are written `&#47;`, so a URL in a run's metadata reads the same but
    /// the file holds no `http://` text that a scanner for external references would flag.
    package static func escape(_ text: String, into out: inout String, inAttribute: Bool) {
        var previous: (Unicode.Scalar?, Unicode.Scalar?) = (nil, nil)
        for scalar in text.unicodeScalars {
            defer { previous = (previous.1, scalar) }
            switch scalar {
            case "/" where previous.1 == ":" || (previous.1 == "/" && previous.0 == ":"): out += "&#47;"
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t" where inAttribute: out += "&#9;"
            case "\n" where inAttribute: out += "&#10;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
    }

    // MARK: - Numbers

    /// A coordinate: at most two decimals, no trailing zeros, no `-0`.
    package static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let hundredths = (value * 100).rounded()
        if hundredths == 0 { return "0" }
        if hundredths.magnitude >= 1e15 { return Int64(exactly: value.rounded()).map(String.init) ?? "\(value.rounded())" }
        let whole = Int64(hundredths) / 100, fraction = Int64(hundredths.magnitude) % 100
        let sign = hundredths < 0 && whole == 0 ? "-" : ""
        if fraction == 0 { return sign + String(whole) }
        let digits = fraction % 10 == 0 ? String(fraction / 10) : (fraction < 10 ? "0" : "") + String(fraction)
        return sign + String(whole) + "." + digits
    }

    /// An exact value for a `data-` attribute: integers as is, doubles as the shortest text that
    /// reads back to the same value (as the CLI's JSON prints them), `null` for none.
    package static func exact(_ value: Double?) -> String {
        guard let value else { return "null" }
        return JSONValue.number(value)
    }
}
