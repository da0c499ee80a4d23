import DensityFormats
import Foundation

/// A state file a training loop saved: where it is, and the step its name carries.
struct StateFile {
    /// The extensions `import` picks up from a folder.
    static let extensions: Set<String> = ["safetensors", "npz"]

    let path: String

    /// The last number in the file's name without its extension (`state-000500.safetensors`
    /// gives 500), if any.
    var stepInName: Int64? {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var digits: [Character] = []
        var last: Substring?
        for character in name + " " {
            if character.isASCII, character.isNumber { digits.append(character); continue }
            if !digits.isEmpty { last = Substring(String(digits)); digits = [] }
        }
        return last.flatMap { Int64($0) }
    }

    /// Reads the torchmetrics state: a `.npz` from numpy, else a `.safetensors` file.
    /// - Throws: the format's error, naming the file.
    func read() throws -> TorchMetricsState {
        if path.lowercased().hasSuffix(".npz") { return try TorchMetricsState(npz: path) }
        return try TorchMetricsState(safetensorsAt: path)
    }

    /// The state files named by folders, globs and paths, each once.
    /// - Parameter arguments: Folders (their state files), glob patterns (expanded here when the
    ///   shell did not), or files.
    /// - Throws: ``CLIError`` when an argument names nothing.
    static func expand(_ arguments: [String]) throws -> [StateFile] {
        var paths: [String] = []
        for argument in arguments {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) {
                if isDirectory.boolValue {
                    let names = try FileManager.default.contentsOfDirectory(atPath: argument)
                    let found = names.filter { extensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
                    guard !found.isEmpty else {
                        throw CLIError("folder '\(argument)' holds no state files (*.\(extensions.sorted().joined(separator: ", *.")))")
                    }
                    paths += found.map { (argument as NSString).appendingPathComponent($0) }
                } else {
                    paths.append(argument)
                }
                continue
            }
            let matches = expandGlob(argument)
            guard !matches.isEmpty else {
                throw CLIError("'\(argument)' matches no file; pass a folder, a glob such as 'states/*.safetensors', or files")
            }
            paths += matches
        }
        var seen = Set<String>()
        return paths.filter { seen.insert(URL(fileURLWithPath: $0).standardizedFileURL.path).inserted }.map(StateFile.init)
    }

    /// Expands a glob pattern with the C library's glob(3).
    private static func expandGlob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
    }
}
