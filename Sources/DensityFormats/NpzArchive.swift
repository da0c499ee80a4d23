internal import CZlib

/// An `.npz` archive: the ZIP file `numpy.savez` (entries stored) and `numpy.savez_compressed`
/// (entries deflated) write, one `NAME.npy` entry per array.
///
/// Opening reads only the end-of-central-directory record (and the zip64 one numpy adds to large
/// archives), the central directory and each entry's local header, and checks every offset and
/// size against the file's size before anything is allocated. An array's data is read when asked
/// for (``tensor(_:)``): stored data as is, deflated data inflated through the system zlib (raw
/// deflate, as ZIP stores it), and its CRC-32 checked either way. numpy writes every entry with
/// `force_zip64=True`, so local headers carry zip64 extra fields; sizes are taken from the central
/// directory, which is authoritative (and also right for entries written with a data descriptor).
///
/// **Limits** (a damaged or hostile archive is refused with ``NpzError/limitExceeded(path:entry:reason:)``
/// before any allocation):
/// - at most ``maxEntries`` entries;
/// - an entry inflates to at most ``maxUncompressedBytes`` (16 GiB);
/// - a deflated entry declares at most ``maxDeflateRatio`` (1032) uncompressed bytes per compressed
///   byte: deflate cannot do better (a 258-byte match in 2 bits), so only a lie or a bomb claims
///   more. Inflation stops at the declared size: an entry producing more is refused, so memory is
///   bounded by the declared size, itself at most 1032 times the file's size.
///
/// ```swift
/// let archive = try NpzArchive(path: "state.npz")
/// archive.arrayNames                          // ["neuron_fired_count", "num_activation_vectors"]
/// let counts = try archive.tensor("neuron_fired_count")
/// ```
///
/// Related documentation: <https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT> (sections
/// 4.3.7, 4.3.12, 4.3.14–16 and 4.5.3) and
/// <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.
public struct NpzArchive: Sendable {
    /// One member of the archive, as its central-directory record describes it.
    public struct Entry: Sendable, Hashable {
        /// How an entry's data is stored.
        public enum Method: Sendable, Hashable {
            /// Stored as is (ZIP method 0), as `numpy.savez` writes it.
            case stored
            /// Raw deflate (ZIP method 8), as `numpy.savez_compressed` writes it.
            case deflated
        }

        /// The member's file name, such as `neuron_fired_count.npy`.
        public let fileName: String
        /// The array's name: the file name without `.npy` (as `numpy.load(path).files` lists it).
        public let arrayName: String
        /// How the data is stored.
        public let method: Method
        /// The CRC-32 of the uncompressed data.
        public let crc32: UInt32
        /// The size of the stored data in bytes.
        public let compressedSize: Int
        /// The size of the data once inflated.
        public let uncompressedSize: Int
        /// Where the stored data starts in the file (after the local header).
        let dataOffset: Int
    }

    // MARK: - Limits

    /// The largest number of entries accepted: 4096 (a metric's state has two or three arrays).
    public static let maxEntries = 4096
    /// The largest uncompressed size of one entry: 16 GiB.
    public static let maxUncompressedBytes = 16 << 30
    /// The largest ratio of uncompressed to compressed size accepted for a deflated entry: 1032,
    /// the most deflate can achieve.
    public static let maxDeflateRatio = 1032

    // MARK: - Fields

    /// The archive's path, used in messages.
    public let path: String
    /// The entries, in the order of the central directory.
    public let entries: [Entry]
    private let file: PosixFile

    /// The arrays' names, in the archive's order.
    public var arrayNames: [String] { entries.map(\.arrayName) }

    // MARK: - Opening

    /// Opens an archive and checks its directory.
    /// - Parameter path: The `.npz` file.
    /// - Throws: ``NpzError``: ``NpzError/unreadable(path:reason:)``, ``NpzError/notZip(path:found:)``,
    ///   ``NpzError/malformed(path:reason:)``, ``NpzError/unsupported(path:entry:reason:)`` or
    ///   ``NpzError/limitExceeded(path:entry:reason:)``.
    public init(path: String) throws {
        let file: PosixFile
        let size: Int
        do {
            file = try PosixFile(path: path)
            size = try file.size()
        } catch let NpyError.unreadable(_, reason) {
            throw NpzError.unreadable(path: path, reason: reason)
        }
        self.path = path
        self.file = file
        let directory = try Self.findDirectory(file: file, size: size, path: path)
        entries = try Self.readEntries(file: file, directory: directory, path: path)
    }

    // MARK: - Reading arrays

    /// `true` when the archive has an array of this name.
    /// - Parameter name: The array's name (without `.npy`).
    public func contains(_ name: String) -> Bool {
        entries.contains { $0.arrayName == name }
    }

    /// Reads one array as a state tensor.
    /// - Parameter name: The array's name (without `.npy`).
    /// - Returns: The array; messages about its content name `path:NAME.npy`.
    /// - Throws: ``NpzError/missingArray(path:name:found:)`` listing the names found, an ``NpzError``
    ///   when the entry's data is damaged, or an ``NpyError`` when it is not a usable `.npy` array.
    public func tensor(_ name: String) throws -> NpyTensor {
        guard let entry = entries.first(where: { $0.arrayName == name }) else {
            throw NpzError.missingArray(path: path, name: name, found: arrayNames)
        }
        return try NpyTensor(npyBytes: try data(of: entry), path: "\(path):\(entry.fileName)")
    }

    /// Reads one entry's uncompressed bytes and checks their CRC-32.
    /// - Parameter entry: One of ``entries``.
    /// - Returns: ``Entry/uncompressedSize`` bytes.
    /// - Throws: ``NpzError/malformed(path:reason:)`` when the file was cut short since it was opened,
    ///   ``NpzError/corruptEntry(path:entry:reason:)`` when the deflate stream is damaged or does not
    ///   end at the declared size, ``NpzError/crcMismatch(path:entry:expected:actual:)``.
    public func data(of entry: Entry) throws -> [UInt8] {
        let stored = try read(count: entry.compressedSize, at: entry.dataOffset)
        guard stored.count == entry.compressedSize else {
            throw NpzError.malformed(path: path, reason: "the data of '\(entry.fileName)' ends at the end of the file, "
                + "\(entry.compressedSize - stored.count) bytes short")
        }
        let bytes = entry.method == .stored ? stored : try inflate(stored, entry: entry)
        let actual = Self.crc32(bytes)
        guard actual == entry.crc32 else {
            throw NpzError.crcMismatch(path: path, entry: entry.fileName, expected: entry.crc32, actual: actual)
        }
        return bytes
    }

    // MARK: - Directory

    /// Where the central directory is, from the (zip64) end-of-central-directory record.
    private struct Directory {
        var entryCount: Int
        var offset: Int
        var size: Int
    }

    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50

    /// Finds and checks the end-of-central-directory record (searching back over a comment of up to
    /// 65,535 bytes) and, when present, the zip64 record it points to.
    private static func findDirectory(file: PosixFile, size: Int, path: String) throws -> Directory {
        let tailCount = min(size, 22 + 0xFFFF)
        let tail = try read(file, count: tailCount, at: size - tailCount, path: path)
        var found: Int?
        var position = tail.count - 22
        while position >= 0 {
            if Self.uint(tail, position, 4) == UInt64(endSignature),
               position + 22 + Int(Self.uint(tail, position + 20, 2)) <= tail.count {
                found = position
                break
            }
            position -= 1
        }
        guard let position = found else {
            let head = try read(file, count: min(size, 8), at: 0, path: path)
            if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
                throw NpzError.malformed(path: path, reason: "it starts like a ZIP archive but has no "
                    + "end-of-central-directory record (the end of the file is missing)")
            }
            throw NpzError.notZip(path: path, found: head)
        }
        let end = size - tailCount + position  // the record's offset in the file
        let disk = uint(tail, position + 4, 2), directoryDisk = uint(tail, position + 6, 2)
        var diskEntries = uint(tail, position + 8, 2), entries = uint(tail, position + 10, 2)
        var directorySize = uint(tail, position + 12, 4), directoryOffset = uint(tail, position + 16, 4)
        var directoryEnd = UInt64(end)
        var multiDisk = (disk != 0 && disk != 0xFFFF) || (directoryDisk != 0 && directoryDisk != 0xFFFF)

        // A zip64 end record: its locator sits just before the classic record.
        let locator = end - 20
        if locator >= 0, uint(try read(file, count: 4, at: locator, path: path), 0, 4) == UInt64(zip64LocatorSignature) {
            let bytes = try read(file, count: 20, at: locator, path: path)
            let recordOffset = uint(bytes, 8, 8)
            multiDisk = multiDisk || uint(bytes, 4, 4) != 0 || uint(bytes, 16, 4) > 1
            guard recordOffset <= UInt64(locator), UInt64(locator) - recordOffset >= 56 else {
                throw NpzError.malformed(path: path, reason: "the zip64 end record's offset \(recordOffset) is not "
                    + "before its locator at \(locator)")
            }
            let record = try read(file, count: 56, at: Int(recordOffset), path: path)
            guard uint(record, 0, 4) == UInt64(zip64EndSignature) else {
                throw NpzError.malformed(path: path, reason: "no zip64 end record at offset \(recordOffset)")
            }
            multiDisk = multiDisk || uint(record, 16, 4) != 0 || uint(record, 20, 4) != 0
            diskEntries = uint(record, 24, 8)
            entries = uint(record, 32, 8)
            directorySize = uint(record, 40, 8)
            directoryOffset = uint(record, 48, 8)
            directoryEnd = recordOffset
        } else if entries == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw NpzError.malformed(path: path, reason: "the end record defers to a zip64 record that is missing")
        }
        guard !multiDisk else {
            throw NpzError.unsupported(path: path, entry: nil, reason: "it spans several disks")
        }
        guard diskEntries == entries else {
            throw NpzError.malformed(path: path, reason: "the end record counts \(diskEntries) entries on this disk "
                + "but \(entries) in all")
        }
        guard entries <= UInt64(maxEntries) else {
            throw NpzError.limitExceeded(path: path, entry: nil, reason: "it declares \(entries) entries, more than "
                + "the \(maxEntries) accepted")
        }
        guard directoryOffset <= directoryEnd, directorySize <= directoryEnd - directoryOffset else {
            throw NpzError.malformed(path: path, reason: "the central directory (\(directorySize) bytes at offset "
                + "\(directoryOffset)) does not fit before the end record at \(directoryEnd) in a \(size)-byte file")
        }
        guard directorySize >= entries * 46 else {
            throw NpzError.malformed(path: path, reason: "the central directory has \(directorySize) bytes, too few "
                + "for its \(entries) entries")
        }
        return Directory(entryCount: Int(entries), offset: Int(directoryOffset), size: Int(directorySize))
    }

    /// Parses the central directory and checks each entry and its local header.
    private static func readEntries(file: PosixFile, directory: Directory, path: String) throws -> [Entry] {
        let bytes = try read(file, count: directory.size, at: directory.offset, path: path)
        guard bytes.count == directory.size else {
            throw NpzError.malformed(path: path, reason: "the file ends inside its central directory")
        }
        var entries: [Entry] = []
        var names: Set<String> = []
        var position = 0
        for index in 0..<directory.entryCount {
            guard position + 46 <= bytes.count, uint(bytes, position, 4) == UInt64(centralSignature) else {
                throw NpzError.malformed(path: path, reason: "central directory record \(index + 1) of "
                    + "\(directory.entryCount) is missing or has a bad signature")
            }
            let flags = uint(bytes, position + 8, 2), methodCode = uint(bytes, position + 10, 2)
            let crc = UInt32(uint(bytes, position + 16, 4))
            var compressed = uint(bytes, position + 20, 4), uncompressed = uint(bytes, position + 24, 4)
            let nameLength = Int(uint(bytes, position + 28, 2)), extraLength = Int(uint(bytes, position + 30, 2))
            let commentLength = Int(uint(bytes, position + 32, 2))
            var disk = uint(bytes, position + 34, 2), localOffset = uint(bytes, position + 42, 4)
            let next = position + 46 + nameLength + extraLength + commentLength
            guard next <= bytes.count else {
                throw NpzError.malformed(path: path, reason: "central directory record \(index + 1) runs past the "
                    + "directory's end")
            }
            let nameBytes = Array(bytes[(position + 46)..<(position + 46 + nameLength)])
            let name = String(decoding: nameBytes, as: UTF8.self)

            // The zip64 extra field holds, in this order, each of these that is saturated above.
            var extra = position + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = uint(bytes, extra, 2), length = Int(uint(bytes, extra + 2, 2))
                guard extra + 4 + length <= extraEnd else {
                    throw NpzError.malformed(path: path, reason: "the extra field of '\(name)' runs past its end")
                }
                if id == 0x0001 {
                    var field = extra + 4
                    func take(_ width: Int) throws -> UInt64 {
                        guard field + width <= extra + 4 + length else {
                            throw NpzError.malformed(path: path, reason: "the zip64 extra field of '\(name)' is too short")
                        }
                        defer { field += width }
                        return uint(bytes, field, width)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try take(8) }
                    if compressed == 0xFFFF_FFFF { compressed = try take(8) }
                    if localOffset == 0xFFFF_FFFF { localOffset = try take(8) }
                    if disk == 0xFFFF { disk = try take(4) }
                }
                extra += 4 + length
            }

            guard disk == 0 else { throw NpzError.unsupported(path: path, entry: name, reason: "it lies on another disk") }
            guard flags & 0x0001 == 0 else {
                throw NpzError.unsupported(path: path, entry: name, reason: "it is encrypted")
            }
            let method: Entry.Method
            switch methodCode {
            case 0: method = .stored
            case 8: method = .deflated
            default:
                throw NpzError.unsupported(path: path, entry: name, reason: "compression method \(methodCode) "
                    + "(only 0, stored, and 8, deflate, are read)")
            }
            guard uncompressed <= UInt64(maxUncompressedBytes) else {
                throw NpzError.limitExceeded(path: path, entry: name, reason: "it declares \(uncompressed) "
                    + "uncompressed bytes, more than the \(maxUncompressedBytes) (16 GiB) accepted")
            }
            if method == .stored {
                guard compressed == uncompressed else {
                    throw NpzError.malformed(path: path, reason: "the stored entry '\(name)' declares \(compressed) "
                        + "stored bytes but \(uncompressed) uncompressed ones")
                }
            } else if compressed > UInt64(directory.offset) || uncompressed > compressed * UInt64(maxDeflateRatio) {
                let ratio = compressed == 0 ? "from no data" : "\(uncompressed / compressed) times its size"
                throw NpzError.limitExceeded(path: path, entry: name, reason: "it claims to inflate \(compressed) bytes "
                    + "to \(uncompressed) (\(ratio)), more than the \(maxDeflateRatio):1 deflate can achieve; "
                    + "it is damaged or a zip bomb")
            }
            // The local header, then the data, must lie before the central directory.
            guard localOffset <= UInt64(directory.offset), UInt64(directory.offset) - localOffset >= 30 else {
                throw NpzError.malformed(path: path, reason: "the local header of '\(name)' at offset \(localOffset) "
                    + "is not before the central directory at \(directory.offset)")
            }
            let local = try read(file, count: 30, at: Int(localOffset), path: path)
            guard uint(local, 0, 4) == UInt64(localSignature) else {
                throw NpzError.malformed(path: path, reason: "no local header for '\(name)' at offset \(localOffset)")
            }
            let dataOffset = localOffset + 30 + uint(local, 26, 2) + uint(local, 28, 2)
            guard uint(local, 26, 2) == UInt64(nameLength),
                  try read(file, count: nameLength, at: Int(localOffset) + 30, path: path) == nameBytes
            else {
                throw NpzError.malformed(path: path, reason: "the local header at offset \(localOffset) does not name "
                    + "'\(name)' as the central directory does")
            }
            guard dataOffset <= UInt64(directory.offset), compressed <= UInt64(directory.offset) - dataOffset else {
                throw NpzError.malformed(path: path, reason: "the \(compressed) data bytes of '\(name)' at offset "
                    + "\(dataOffset) run past the start of the central directory at \(directory.offset)")
            }
            guard names.insert(name).inserted else {
                throw NpzError.malformed(path: path, reason: "it holds two entries named '\(name)'")
            }
            entries.append(Entry(
                fileName: name, arrayName: name.hasSuffix(".npy") ? String(name.dropLast(4)) : name, method: method,
                crc32: crc, compressedSize: Int(compressed), uncompressedSize: Int(uncompressed),
                dataOffset: Int(dataOffset)))
            position = next
        }
        return entries
    }

    // MARK: - Inflate and CRC

    /// Inflates a raw deflate stream to exactly the entry's declared size.
    private func inflate(_ input: [UInt8], entry: Entry) throws -> [UInt8] {
        func corrupt(_ reason: String) -> NpzError {
            .corruptEntry(path: path, entry: entry.fileName, reason: reason)
        }
        var stream = z_stream()
        guard czlib_inflate_init_raw(&stream) == Z_OK else { throw corrupt("zlib could not start inflating") }
        defer { inflateEnd(&stream) }
        let limit = 1 << 30  // zlib counts in 32-bit unsigned integers
        var scratch: UInt8 = 0
        return try [UInt8](unsafeUninitializedCapacity: entry.uncompressedSize) { output, initialized in
            try input.withUnsafeBufferPointer { input in
                var inPosition = 0, outPosition = 0
                while true {
                    let inCount = min(input.count - inPosition, limit)
                    let outCount = min(output.count - outPosition, limit)
                    stream.next_in = inCount > 0 ? UnsafeMutablePointer(mutating: input.baseAddress! + inPosition) : nil
                    stream.avail_in = UInt32(inCount)
                    let status = withUnsafeMutablePointer(to: &scratch) { spare -> Int32 in
                        // Past the declared size, one spare byte catches a stream that would go on.
                        stream.next_out = outCount > 0 ? output.baseAddress! + outPosition : spare
                        stream.avail_out = outCount > 0 ? UInt32(outCount) : 1
                        return CZlib.inflate(&stream, Z_NO_FLUSH)
                    }
                    inPosition += inCount - Int(stream.avail_in)
                    if outCount > 0 {
                        outPosition += outCount - Int(stream.avail_out)
                        initialized = outPosition
                    } else if stream.avail_out == 0 {
                        throw corrupt("it inflates to more than the \(entry.uncompressedSize) bytes its record declares")
                    }
                    switch status {
                    case Z_STREAM_END:
                        guard outPosition == entry.uncompressedSize else {
                            throw corrupt("it inflates to \(outPosition) bytes, its record declares \(entry.uncompressedSize)")
                        }
                        return
                    case Z_OK:
                        continue
                    case Z_BUF_ERROR where inPosition == input.count:
                        throw corrupt("its deflate stream ends early, after \(outPosition) of \(entry.uncompressedSize) bytes")
                    case Z_BUF_ERROR:
                        throw corrupt("it inflates to more than the \(entry.uncompressedSize) bytes its record declares")
                    default:
                        let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                        throw corrupt("its deflate data is invalid (\(message))")
                    }
                }
            }
        }
    }

    /// The CRC-32 (ZIP's, as zlib computes it) of `bytes`.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc: UInt = 0
            var start = 0
            while start < buffer.count {
                let count = min(buffer.count - start, 1 << 30)
                crc = CZlib.crc32(crc, buffer.baseAddress! + start, UInt32(count))
                start += count
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    // MARK: - Bytes

    /// A little-endian unsigned integer of `width` bytes at `offset` (the caller checked the bounds).
    private static func uint(_ bytes: [UInt8], _ offset: Int, _ width: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    /// Reads up to `count` bytes (fewer only at the end of the file), with ``NpzError`` on failure.
    private static func read(_ file: PosixFile, count: Int, at offset: Int, path: String) throws -> [UInt8] {
        do {
            return try file.readBytes(count: count, at: offset)
        } catch let NpyError.unreadable(_, reason) {
            throw NpzError.unreadable(path: path, reason: reason)
        }
    }

    private func read(count: Int, at offset: Int) throws -> [UInt8] {
        try Self.read(file, count: count, at: offset, path: path)
    }
}
