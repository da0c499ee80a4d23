import DensityFormats
import Foundation
import Testing

// MARK: - Fixtures

/// The fixtures copied into the test bundle, and their MANIFEST.json.
enum Fixtures {
    /// The `Fixtures` folder in the test bundle.
    static func directory() throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                     "the Fixtures folder is missing from the test bundle")
    }

    /// The path of one fixture.
    static func path(_ name: String) throws -> String {
        try directory().appendingPathComponent(name).path
    }

    /// MANIFEST.json, parsed.
    static func manifest() throws -> [String: Any] {
        let data = try Data(contentsOf: try directory().appendingPathComponent("MANIFEST.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The entry of one file in MANIFEST.json.
    static func entry(_ name: String) throws -> [String: Any] {
        try #require(try manifest()[name] as? [String: Any], "\(name) is not in MANIFEST.json")
    }
}

/// Flattens a JSON number or nested array of numbers into Int64 values, row-major.
func flattenedInts(_ json: Any?) throws -> [Int64] {
    if let number = json as? NSNumber { return [number.int64Value] }
    let array = try #require(json as? [Any], "expected a number or an array, got \(String(describing: json))")
    return try array.flatMap { try flattenedInts($0) }
}

// MARK: - Temporary files

/// Runs `body` with a fresh directory under the temporary directory (a UUID name, so parallel tests
/// never share files), removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("DensityFormatsTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Writes bytes to `name` inside `directory` and returns the path.
@discardableResult
func write(_ bytes: [UInt8], to name: String, in directory: URL) throws -> String {
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

// MARK: - Building .npy bytes

/// Builds `.npy` files byte by byte, for headers numpy would never write.
enum NpyBytes {
    /// A complete file: magic, version, length, `dict` padded with spaces and `\n` to a multiple of
    /// 64 bytes (as numpy does), then `data`.
    static func file(dict: String, version: UInt8 = 1, data: [UInt8] = []) -> [UInt8] {
        let preamble = version == 1 ? 10 : 12
        var text = Array(dict.utf8)
        let total = preamble + text.count + 1
        text += [UInt8](repeating: 0x20, count: (64 - total % 64) % 64) + [0x0A]
        return header(version: version, length: text.count) + text + data
    }

    /// The magic, version and length field only.
    static func header(version: UInt8, length: Int) -> [UInt8] {
        var bytes = NpyHeader.magic + [version, 0]
        let width = version == 1 ? 2 : 4
        for shift in 0..<width { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * shift))) }
        return bytes
    }

    /// The usual dict numpy writes.
    static func dict(descr: String, fortran: Bool = false, shape: String) -> String {
        "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
    }

    /// Little-endian bytes of float32 values.
    static func float32(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }
}

/// The values of a batch as raw bytes in the machine's order (little-endian on every CI host).
func rawBytes(_ values: NpyBatch.Values) -> [UInt8] {
    switch values {
    case let .float16(v): return v.withUnsafeBytes { Array($0) }
    case let .float32(v): return v.withUnsafeBytes { Array($0) }
    case let .float64(v): return v.withUnsafeBytes { Array($0) }
    }
}

/// Every batch of a file, read with `maxRowsPerBatch`.
func batches(of file: NpyFile, maxRowsPerBatch: Int) throws -> [NpyBatch] {
    var result: [NpyBatch] = []
    try file.forEachBatch(maxRowsPerBatch: maxRowsPerBatch) { result.append($0) }
    return result
}

/// Runs `body`, expecting an ``NpyError``, and returns its message ("" when nothing was thrown).
func npyErrorMessage(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    let error = #expect(throws: NpyError.self, sourceLocation: sourceLocation) { try body() }
    return error?.description ?? ""
}

// MARK: - Python

/// Why a Python helper could not run.
struct PythonError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `python3 -c script arguments...` and returns its standard output.
/// - Throws: ``PythonError`` with a clear message when python3 or numpy is missing or the script fails.
func runPython(_ script: String, arguments: [String] = []) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    do {
        try process.run()
    } catch {
        throw PythonError(description: "could not start python3 (\(error)); these tests need python3 with numpy on PATH")
    }
    let stdout = output.fileHandleForReading.readDataToEndOfFile()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        if process.terminationStatus == 127 || stderr.contains("No such file") {
            throw PythonError(description: "python3 was not found; these tests need python3 with numpy on PATH: \(stderr)")
        }
        if stderr.contains("No module named 'numpy'") {
            throw PythonError(description: "numpy is not installed for python3 (`python3 -m pip install numpy`); these tests need it: \(stderr)")
        }
        throw PythonError(description: "the python3 helper failed with status \(process.terminationStatus): \(stderr)")
    }
    return String(decoding: stdout, as: UTF8.self)
}
