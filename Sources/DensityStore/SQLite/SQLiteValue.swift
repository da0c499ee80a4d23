package import Foundation

/// A value bound to a statement's `?` placeholder.
package enum SQLiteValue: Sendable, Hashable {
    /// SQL NULL.
    case null
    /// A 64-bit integer.
    case integer(Int64)
    /// A double.
    case real(Double)
    /// UTF-8 text.
    case text(String)
    /// Bytes.
    case blob(Data)
}

extension SQLiteValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByFloatLiteral {
    /// An integer value.
    package init(integerLiteral value: Int64) { self = .integer(value) }
    /// A text value.
    package init(stringLiteral value: String) { self = .text(value) }
    /// A real value.
    package init(floatLiteral value: Double) { self = .real(value) }
}
