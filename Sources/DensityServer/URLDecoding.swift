/// Decoding as the URL standard (https://url.spec.whatwg.org) does it: a path segment is
/// percent-decoded; a query is `application/x-www-form-urlencoded`, where `+` is a space and names
/// are decoded as values are. A `%` not followed by two hex digits stays as it is, and bytes that are
/// not UTF-8 become U+FFFD, so decoding never fails.
enum URLDecoding {
    /// A path segment, percent-decoded (`+` stays `+`).
    static func segment<S: StringProtocol>(_ text: S) -> String {
        decode(text, plusIsSpace: false)
    }

    /// The name-value pairs of a query string (without its `?`), in order; empty pieces are skipped.
    static func query(_ text: String?) -> [(String, String)] {
        guard let text else { return [] }
        return text.split(separator: "&", omittingEmptySubsequences: true).map { piece in
            let name = piece.firstIndex(of: "=").map { piece[..<$0] } ?? piece[...]
            let value = piece.firstIndex(of: "=").map { piece[piece.index(after: $0)...] } ?? ""
            return (decode(name, plusIsSpace: true), decode(value, plusIsSpace: true))
        }
    }

    /// Percent-decodes `text`'s UTF-8 bytes, `+` becoming a space when `plusIsSpace`.
    static func decode<S: StringProtocol>(_ text: S, plusIsSpace: Bool) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
                continue
            }
            out.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of a hex digit.
    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
