#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened read-only, read with `pread` (so reads never share a file position), closed on deinit.
///
/// It is `Sendable` without `@unchecked`: its only state is the immutable descriptor, and `pread`
/// is safe to call from several threads on one descriptor.
final class PosixFile: Sendable {
    /// The path, for messages.
    let path: String
    private let descriptor: Int32

    /// Opens a regular file for reading.
    /// - Parameter path: The file's path.
    /// - Throws: ``NpyError/unreadable(path:reason:)`` when it is missing, not a regular file or not readable.
    init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw NpyError.unreadable(path: path, reason: Self.lastError()) }
        var status = stat()
        var problem: String?
        if fstat(descriptor, &status) != 0 {
            problem = Self.lastError()
        } else if status.st_mode & S_IFMT == S_IFDIR {
            problem = "it is a directory"
        } else if status.st_mode & S_IFMT != S_IFREG {
            problem = "it is not a regular file"
        }
        if let problem {
            close(descriptor)
            throw NpyError.unreadable(path: path, reason: problem)
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The file's current size in bytes.
    /// - Throws: ``NpyError/unreadable(path:reason:)`` when `fstat` fails.
    func size() throws -> Int {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw NpyError.unreadable(path: path, reason: Self.lastError())
        }
        return Int(status.st_size)
    }

    /// Reads up to `buffer.count` bytes at `offset`, stopping early only at the end of the file.
    /// - Parameters:
    ///   - buffer: Where to put the bytes.
    ///   - offset: The byte offset in the file.
    /// - Returns: The number of bytes read; less than `buffer.count` only at the end of the file.
    /// - Throws: ``NpyError/unreadable(path:reason:)`` on an I/O error.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws -> Int {
        var done = 0
        while done < buffer.count {
            let chunk = min(buffer.count - done, 1 << 30)
            let result = pread(descriptor, buffer.baseAddress! + done, chunk, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw NpyError.unreadable(path: path, reason: Self.lastError())
            }
            if result == 0 { break }
            done += result
        }
        return done
    }

    /// Reads up to `count` bytes at `offset` into a new array (shorter at the end of the file).
    /// - Parameters:
    ///   - count: How many bytes to read.
    ///   - offset: The byte offset in the file.
    /// - Returns: The bytes read.
    /// - Throws: ``NpyError/unreadable(path:reason:)`` on an I/O error.
    func readBytes(count: Int, at offset: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
        }
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
