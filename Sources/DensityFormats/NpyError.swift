/// Why an `.npy` file could not be read as activations (``NpyFile``) or as a state tensor (``NpyTensor``).
///
/// Every message names the file, says what was wrong and how to fix it; ``description`` is what the
/// command-line tool prints.
public enum NpyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file could not be opened or read (missing, a directory, no permission, an I/O error).
    case unreadable(path: String, reason: String)
    /// The file does not start with the `.npy` magic `\x93NUMPY`; `found` holds its first bytes.
    case notNpy(path: String, found: [UInt8])
    /// The header's format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion(path: String, major: UInt8, minor: UInt8)
    /// The header's declared length is larger than ``NpyHeader/maxHeaderBytes``.
    case headerTooLarge(path: String, length: Int, limit: Int)
    /// The file ends inside the header.
    case truncatedHeader(path: String, expectedBytes: Int, foundBytes: Int)
    /// The header dictionary is not the Python literal numpy writes.
    case malformedHeader(path: String, reason: String)
    /// The array's dtype is a plain type other than float16, float32 or float64.
    case unsupportedDType(path: String, descr: String, name: String)
    /// The array has a structured (record) dtype, described by a list of fields.
    case structuredDType(path: String, descr: String)
    /// The array is a 0-d (scalar) array, which has no batch axis.
    case scalarArray(path: String)
    /// A dimension is negative, the rank is too large, or the size does not fit in memory addresses.
    case invalidShape(path: String, shape: String, reason: String)
    /// The data is shorter than the shape and dtype require.
    case truncatedData(path: String, shape: [Int], dtype: NpyHeader.DType, expectedBytes: Int, foundBytes: Int)
    /// A state tensor (``NpyTensor``) has a dtype other than a plain integer, float32, float64 or bool.
    case unsupportedStateDType(path: String, descr: String, name: String)
    /// A uint64 state tensor holds a value above `Int64.max`, which no count can be.
    case valueOutOfRange(path: String, index: Int, value: UInt64)
    /// A state tensor's data is shorter than its shape and dtype require; `dtype` is numpy's name.
    case truncatedTensor(path: String, shape: [Int], dtype: String, expectedBytes: Int, foundBytes: Int)

    /// A one-line account of what was wrong and how to fix it.
    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read '\(path)': \(reason); check the path and its permissions"
        case let .notNpy(path, found):
            if found.isEmpty {
                return "'\(path)' is not an .npy file: the file is empty; write activations with `np.save(path, a)`"
            }
            if found.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
                return "'\(path)' is not an .npy file: it is a zip archive (an .npz?); "
                    + "extract the array with `np.save('acts.npy', np.load(path)['name'])`"
            }
            return "'\(path)' is not an .npy file: it does not start with the magic bytes \\x93NUMPY "
                + "(found \(Self.leadingBytes(found))); write activations with `np.save(path, a)`"
        case let .unsupportedVersion(path, major, minor):
            return "'\(path)' uses .npy format version \(major).\(minor); this reader supports 1.0, 2.0 and 3.0; "
                + "write it again with `np.save(path, a)`"
        case let .headerTooLarge(path, length, limit):
            return "'\(path)' declares a \(length)-byte .npy header, more than the \(limit)-byte limit; "
                + "the file is damaged or not a plain numeric array; write it again with `np.save(path, a)`"
        case let .truncatedHeader(path, expected, found):
            return "'\(path)' is truncated inside its .npy header: the header needs \(expected) bytes, "
                + "the file has \(found); the copy or download was cut short, write the file again"
        case let .malformedHeader(path, reason):
            return "'\(path)' has a malformed .npy header: \(reason); write the file again with `np.save(path, a)`"
        case let .unsupportedDType(path, descr, name):
            return "'\(path)': activations must be float16, float32 or float64; got \(name) ('\(descr)'); "
                + (name == "object"
                    ? "convert with `np.asarray(a, dtype=np.float32)` and save again"
                    : "convert with `a.astype(np.float32)` and save again")
        case let .structuredDType(path, descr):
            return "'\(path)': activations must be float16, float32 or float64; got a structured dtype \(descr); "
                + "save one numeric field alone with `np.save(path, a['field'].astype(np.float32))`"
        case let .scalarArray(path):
            return "'\(path)' holds a 0-d (scalar) array; activations need a batch axis, "
                + "shape (batch, features) or (batch, components, features)"
        case let .invalidShape(path, shape, reason):
            return "'\(path)' has an invalid shape \(shape): \(reason); the file is damaged, write it again"
        case let .truncatedData(path, shape, dtype, expected, found):
            return Self.truncated(path, shape, dtype.rawValue, expected, found)
        case let .unsupportedStateDType(path, descr, name):
            return "'\(path)': a state array must be an integer (int8 to int64, uint8 to uint64), float32, float64 "
                + "or bool array; got \(name) ('\(descr)'); save counts as int64 with `np.save(path, a.astype(np.int64))`"
        case let .valueOutOfRange(path, index, value):
            return "'\(path)' holds the uint64 value \(value) at index \(index), above the int64 maximum "
                + "\(Int64.max); counts cannot be that large, the array is damaged or not a count"
        case let .truncatedTensor(path, shape, dtype, expected, found):
            return Self.truncated(path, shape, dtype, expected, found)
        }
    }

    /// The account of an array whose data ends before its shape and dtype say.
    private static func truncated(_ path: String, _ shape: [Int], _ dtype: String, _ expected: Int, _ found: Int) -> String {
        "'\(path)' is truncated: shape \(NpyHeader.tuple(shape)) of \(dtype) needs \(expected) data bytes, "
            + "the file has \(found) (\(expected - found) missing); the copy or download was cut short, "
            + "write the file again"
    }

    /// A file's first 8 bytes as hex, for a message saying what a file starts with: "50 4b 03 04".
    static func leadingBytes(_ found: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return found.prefix(8).map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xF)]]) }.joined(separator: " ")
    }
}
