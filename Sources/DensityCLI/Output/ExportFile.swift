import Foundation

/// The file an ``ExportTarget`` writes (a temporary file, a FIFO, a device or stdout), buffered.
final class ExportFile {
    private let descriptor: Int32
    private let path: String
    private var buffer: [UInt8] = []
    /// Bytes handed to ``append(_:)-(UnsafeRawBufferPointer)`` so far.
    private(set) var written = 0
    /// Bytes written out of the buffer so far.
    var sent: Int { written - buffer.count }

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        buffer.reserveCapacity(Self.bufferSize)
    }

    static let bufferSize = 1 << 20

    /// Appends bytes.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        written += bytes.count
        if buffer.count + bytes.count <= Self.bufferSize {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count >= Self.bufferSize {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// Appends text as UTF-8.
    func append(_ text: String) throws {
        var text = text
        try text.withUTF8 { try append(UnsafeRawBufferPointer($0)) }
    }

    /// Writes out what is buffered.
    func flush() throws {
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let result = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if result < 0 {
                if errno == EINTR { continue }
                throw CLIError("cannot write '\(path)': \(ExportTarget.lastError()); nothing was written")
            }
            done += result
        }
    }
}
