/// Why a state stream (``StateFrameReader``) could not be read further.
public enum StateFrameError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stream ended inside a frame: the frame is lost, the ones before it are whole.
    case truncated(source: String, frame: Int, offset: Int, expected: Int, received: Int)
    /// A frame's length prefix is above the bound: the stream is not framed as expected or the
    /// state is larger than allowed.
    case tooLarge(source: String, frame: Int, offset: Int, length: UInt64, limit: Int)
    /// Reading failed.
    case unreadable(source: String, reason: String)

    /// A one-line account of the problem and its fix.
    public var description: String {
        switch self {
        case let .truncated(source, frame, offset, expected, received):
            return "\(source): frame \(frame) (at byte \(offset)) is truncated: the stream ended after \(received) of its \(expected) bytes; that frame was not stored (the writer stopped mid-frame)"
        case let .tooLarge(source, frame, offset, length, limit):
            return "\(source): frame \(frame) (at byte \(offset)) claims \(length) bytes, more than the reader's limit of \(limit) bytes; each frame must be an 8-byte little-endian length followed by that many bytes of .safetensors"
        case let .unreadable(source, reason):
            return "cannot read \(source): \(reason)"
        }
    }
}
