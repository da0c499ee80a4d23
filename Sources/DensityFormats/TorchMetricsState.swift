public import DensityMetric

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A torchmetrics `FeatureDensityMetric` state as PyTorch saves it:
/// `save_file({"neuron_fired_count": m.neuron_fired_count, "num_activation_vectors": m.num_activation_vectors}, path)`.
///
/// `neuron_fired_count` may be float32 (the reference's own dtype), float64, int32 or int64, of
/// shape `[F]` or `[C, F]`; float counts must be whole and non-negative. `num_activation_vectors`
/// is int64 of shape `[]` or `[1]`. An optional int64 `step` scalar names the training step.
public struct TorchMetricsState: Sendable, Hashable {
    /// The tensor of per-feature counts.
    public static let countsName = "neuron_fired_count"
    /// The tensor of the vector count.
    public static let vectorsName = "num_activation_vectors"
    /// The optional tensor of the training step.
    public static let stepName = "step"

    /// The counts, row-major.
    public let counts: [Int64]
    /// Their shape: `[F]` or `[C, F]`.
    public let shape: [Int]
    /// `num_activation_vectors`.
    public let vectors: Int64
    /// The `step` tensor's value, when the file has one.
    public let step: Int64?
    /// Things the user should know, such as float32 counts past 2^24.
    public let warnings: [String]
    /// ``DensityMetric/DensityState/largestCount(_:)`` of the counts, so that turning this into a
    /// ``DensityMetric/DensityState`` does not read them again.
    let largestCount: UInt64

    /// Reads the state from a parsed file.
    /// - Parameter file: A `.safetensors` file or frame.
    /// - Throws: ``SafetensorsError`` naming what is missing or wrong.
    public init(file: SafetensorsFile) throws {
        try self.init(file: file, counts: nil, largestCount: nil)
    }

    /// Reads the state from a `.safetensors` file without holding the file's bytes: int64 counts
    /// are read straight into their own memory (see ``StateFrameReader/readState(length:)``).
    /// - Parameter path: The file's path.
    /// - Throws: ``SafetensorsError`` naming the file and what is wrong.
    public init(safetensorsAt path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw SafetensorsError.unreadable(source: path, reason: errno == ENOENT ? "no such file" : "it cannot be read")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT != S_IFDIR else {
            throw SafetensorsError.unreadable(source: path, reason: "it cannot be read")
        }
        var reader = StateFrameReader(descriptor: descriptor, source: path, maxFrameBytes: StateFrameReader.maxFrameBytesLimit)
        do {
            if info.st_mode & S_IFMT == S_IFREG {
                self = try reader.readState(length: Int(info.st_size))
            } else {  // a pipe such as /dev/stdin: no size to read by, so read it to its end
                self = try TorchMetricsState(file: SafetensorsFile(bytes: reader.readToEnd(), source: path))
            }
        } catch let error as StateFrameError {
            throw SafetensorsError.unreadable(source: path, reason: "\(error)")
        }
    }

    /// Reads the state from a parsed file whose int64 counts were already read into memory of
    /// their own (``StateFrameReader`` reads them straight from the stream); `nil` reads them from
    /// the file's data. `largestCount` is their ``DensityMetric/DensityState/largestCount(_:)``
    /// when the reader took it as they arrived; `nil` takes it here, in one more pass.
    init(file: SafetensorsFile, counts decoded: [Int64]?, largestCount known: UInt64?) throws {
        try Self.requireNames(found: Array(file.tensors.keys), source: file.source)
        let countsTensor = file.tensors[Self.countsName]!
        guard ["F32", "F64", "I32", "I64"].contains(countsTensor.dtype) else {
            throw SafetensorsError.unsupportedTensor(
                source: file.source(of: Self.countsName), name: Self.countsName,
                reason: "has dtype \(countsTensor.dtype); expected F32, F64, I32 or I64 (int64 keeps counts exact)")
        }
        guard (1...2).contains(countsTensor.shape.count), countsTensor.shape.allSatisfy({ $0 > 0 }) else {
            throw SafetensorsError.unsupportedTensor(
                source: file.source(of: Self.countsName), name: Self.countsName,
                reason: "has shape \(countsTensor.shape); expected [features] or [components, features]")
        }
        let counts = try decoded ?? file.integers(Self.countsName)
        let largestCount = known ?? counts.withUnsafeBufferPointer(DensityState.largestCount)
        if largestCount > UInt64(Int64.max), let negative = counts.firstIndex(where: { $0 < 0 }) {
            throw SafetensorsError.invalidValues(source: file.source(of: Self.countsName), name: Self.countsName,
                                                 reason: "holds the negative count \(counts[negative]) at index \(negative)")
        }
        let vectorsTensor = file.tensors[Self.vectorsName]!
        guard vectorsTensor.elementCount == 1, vectorsTensor.shape.count <= 1,
              ["I64", "I32", "F64", "F32"].contains(vectorsTensor.dtype)
        else {
            throw SafetensorsError.unsupportedTensor(
                source: file.source(of: Self.vectorsName), name: Self.vectorsName,
                reason: "has dtype \(vectorsTensor.dtype) and shape \(vectorsTensor.shape); expected an int64 scalar ([] or [1])")
        }
        let vectors = try file.integers(Self.vectorsName)[0]
        guard vectors >= 0 else {
            throw SafetensorsError.invalidValues(source: file.source(of: Self.vectorsName), name: Self.vectorsName, reason: "is negative (\(vectors))")
        }
        var step: Int64?
        if file.tensors[Self.stepName] != nil {
            let values = try file.integers(Self.stepName)
            guard values.count == 1, values[0] >= 0 else {
                throw SafetensorsError.invalidValues(source: file.source(of: Self.stepName), name: Self.stepName,
                                                     reason: "must be one non-negative integer, got \(values)")
            }
            step = values[0]
        }
        var warnings: [String] = []
        if countsTensor.dtype == "F32", let large = counts.max(), large > 1 << 24 {
            warnings.append("'\(file.source(of: Self.countsName))': float32 counts above 2^24 = 16,777,216 (up to \(large)) may already have lost increments in float32; save neuron_fired_count as int64 (m.neuron_fired_count.long()) to keep it exact")
        }
        self.counts = counts
        self.shape = countsTensor.shape
        self.vectors = vectors
        self.step = step
        self.warnings = warnings
        self.largestCount = largestCount
    }

    /// Checks that the two state names are among `found`.
    /// - Parameters:
    ///   - found: The names a file holds.
    ///   - source: The file, for the message.
    /// - Throws: ``SafetensorsError/missingTensors(source:expected:found:)`` listing both lists.
    static func requireNames(found: [String], source: String) throws {
        let needed = [countsName, vectorsName]
        guard needed.allSatisfy(found.contains) else {
            throw SafetensorsError.missingTensors(source: source, expected: needed, found: found.sorted())
        }
    }

    /// The state as this project's exact state, checked against a run's width.
    /// - Parameters:
    ///   - features: The run's features.
    ///   - components: The run's components, or `nil`.
    ///   - nonFinite: The non-finite count to carry (torchmetrics does not keep one).
    /// - Returns: The state.
    /// - Throws: ``DensityError`` when the shape does not fit or a count exceeds the vectors.
    public func state(features: Int, components: Int?, nonFinite: Int64 = 0) throws -> DensityState {
        let expected = components.map { [$0, features] } ?? [features]
        guard shape == expected || (components == nil && shape == [1, features]) else {
            throw DensityError.incompatibleStates(
                expected: "neuron_fired_count of shape \(expected)", actual: "shape \(shape)")
        }
        return try DensityState(features: features, components: components, counts: counts, vectors: vectors,
                                nonFinite: nonFinite, largestCount: largestCount)
    }
}
