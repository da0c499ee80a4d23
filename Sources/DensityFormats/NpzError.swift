/// Why an `.npz` archive (the ZIP file `numpy.savez` and `numpy.savez_compressed` write) was refused.
///
/// Every message names the file (and the entry, when one is at fault), says what was wrong and how
/// to fix it; ``description`` is what the command-line tool prints. Errors inside an entry's `.npy`
/// data are ``NpyError``s naming `path:entry`.
public enum NpzError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The file is not a ZIP archive: no end-of-central-directory record; `found` holds its first bytes.
    case notZip(path: String, found: [UInt8])
    /// The archive's structure is damaged: an offset or size outside the file, a bad signature, a
    /// record cut short.
    case malformed(path: String, reason: String)
    /// The archive uses a ZIP feature numpy never writes (several disks, encryption, a compression
    /// method other than stored or deflate).
    case unsupported(path: String, entry: String?, reason: String)
    /// The archive or an entry exceeds a limit of ``NpzArchive`` (entries, uncompressed size, ratio).
    case limitExceeded(path: String, entry: String?, reason: String)
    /// An entry's data does not inflate to what its directory record declares.
    case corruptEntry(path: String, entry: String, reason: String)
    /// An entry's CRC-32 does not match its data.
    case crcMismatch(path: String, entry: String, expected: UInt32, actual: UInt32)
    /// The archive has no array of the requested name.
    case missingArray(path: String, name: String, found: [String])

    /// A one-line account of what was wrong and how to fix it.
    public var description: String {
        let rewrite = "write it again with `np.savez(path, name=array)`"
        switch self {
        case let .unreadable(path, reason):
            return "cannot read '\(path)': \(reason); check the path and its permissions"
        case let .notZip(path, found):
            if found.isEmpty { return "'\(path)' is not an .npz archive: the file is empty; \(rewrite)" }
            if found.starts(with: NpyHeader.magic) {
                return "'\(path)' is not an .npz archive: it is a single .npy array; pass it as one file of an "
                    + ".npy pair, or \(rewrite)"
            }
            return "'\(path)' is not an .npz archive: it has no ZIP end-of-central-directory record "
                + "(it starts with \(NpyError.leadingBytes(found))); \(rewrite)"
        case let .malformed(path, reason):
            return "'\(path)' is a damaged .npz archive: \(reason); the copy or download was probably cut short, \(rewrite)"
        case let .unsupported(path, entry, reason):
            return "'\(Self.name(path, entry))' uses a ZIP feature this reader does not support: \(reason); "
                + "numpy never writes it, \(rewrite) or `np.savez_compressed`"
        case let .limitExceeded(path, entry, reason):
            return "'\(Self.name(path, entry))' is refused: \(reason); if the archive is genuine, save the arrays "
                + "as separate .npy files with `np.save`"
        case let .corruptEntry(path, entry, reason):
            return "'\(path):\(entry)' is corrupt: \(reason); \(rewrite)"
        case let .crcMismatch(path, entry, expected, actual):
            return "'\(path):\(entry)' is corrupt: its CRC-32 is \(Self.hex32(actual)) but the archive records "
                + "\(Self.hex32(expected)); \(rewrite)"
        case let .missingArray(path, name, found):
            let list = found.isEmpty ? "no arrays" : found.map { "'\($0)'" }.joined(separator: ", ")
            return "'\(path)' has no array '\(name)'; it holds \(list); save it with `np.savez(path, \(name)=array)`"
        }
    }

    private static func name(_ path: String, _ entry: String?) -> String {
        entry.map { "\(path):\($0)" } ?? path
    }

    private static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
