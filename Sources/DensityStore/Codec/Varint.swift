/// Unsigned LEB128 variable-length integers: 7 bits a byte, low bits first, high bit set on every
/// byte but the last. A value below 128 takes one byte; `UInt64.max` takes ten.
enum Varint {
    /// Writes `value` at `position` and returns the position after it.
    @inline(__always)
    static func write(_ value: UInt64, to buffer: UnsafeMutableBufferPointer<UInt8>, at position: Int) -> Int {
        var value = value
        var position = position
        while value >= 0x80 {
            buffer[position] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            position += 1
        }
        buffer[position] = UInt8(value)
        return position + 1
    }

    /// Reads a value at `position`; `nil` when the bytes end early or the value passes 64 bits.
    @inline(__always)
    static func read(_ buffer: UnsafeBufferPointer<UInt8>, at position: Int) -> (UInt64, Int)? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var position = position
        while position < buffer.count {
            let byte = buffer[position]
            position += 1
            if shift == 63 && byte > 1 { return nil }  // more than 64 bits
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return (result, position) }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }
}
