/// Why a `.safetensors` file (or stream frame) was refused. Each message names the source, what
/// was wrong and how to fix it.
public enum SafetensorsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(source: String, reason: String)
    /// The bytes do not follow the safetensors layout.
    case malformed(source: String, reason: String)
    /// A tensor the caller needs is missing.
    case missingTensors(source: String, expected: [String], found: [String])
    /// A tensor has a dtype or shape the caller cannot use.
    case unsupportedTensor(source: String, name: String, reason: String)
    /// A tensor's values are not usable (fractional or negative counts, and the like).
    case invalidValues(source: String, name: String, reason: String)

    /// A one-line account of the problem and its fix.
    public var description: String {
        switch self {
        case let .unreadable(source, reason):
            return "cannot read '\(source)': \(reason)"
        case let .malformed(source, reason):
            return "'\(source)' is not a valid .safetensors file: \(reason)"
        case let .missingTensors(source, expected, found):
            let lacks = "'\(source)' lacks the tensor\(expected.count == 1 ? "" : "s") \(expected.map { "'\($0)'" }.joined(separator: ", ")); it holds \(found.isEmpty ? "no tensors" : found.map { "'\($0)'" }.joined(separator: ", "))."
            guard expected.contains("neuron_fired_count") else { return lacks + " Save the file with those names." }
            if source.hasSuffix(".npz") {
                return lacks + " Save the metric's state with those names, e.g. np.savez(path, neuron_fired_count=counts, num_activation_vectors=n)"
            }
            return lacks + " Save the metric's state with those names, e.g. save_file({\"neuron_fired_count\": m.neuron_fired_count, \"num_activation_vectors\": m.num_activation_vectors}, path)"
        case let .unsupportedTensor(source, name, reason), let .invalidValues(source, name, reason):
            return "'\(source)': tensor '\(name)' \(reason)"
        }
    }
}
