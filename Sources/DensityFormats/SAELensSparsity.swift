internal import Foundation

/// SAELens' `sparsity.safetensors`: one float32 tensor `"sparsity"` of shape `[d_sae]` holding
/// `log10(density + 1e-10)` per feature, as SAELens saves it with
/// `save_file({"sparsity": torch.log10(density + 1e-10)}, path)`; dead features show as -10.
///
/// The file keeps densities only, in float32, so counts can only be estimated back from them given
/// the number of vectors they were measured over: an import is always **approximate**.
/// ``estimate(vectors:)`` says by how much (``Estimate/maxDensityError``).
///
/// ```swift
/// let sparsity = try SAELensSparsity(path: "sparsity.safetensors")
/// let estimate = try sparsity.estimate(vectors: 4_096_000)   // the window the densities cover
/// estimate.counts             // round((10^s - 1e-10) * N), clamped to [0, N]
/// estimate.maxDensityError    // max |file density - count / N|
///
/// let bytes = try SAELensSparsity.fileBytes(counts: state.counts, vectors: state.vectors)
/// ```
public struct SAELensSparsity: Sendable, Hashable {
    /// The tensor's name in the file.
    public static let tensorName = "sparsity"
    /// The constant SAELens adds before the logarithm, so that a dead feature gives -10.
    public static let epsilon = 1e-10
    /// How far above 1 a density read back may be and still count as 1: float32 rounding of
    /// `log10(1 + 1e-10)` can land a hair above 0, never this far. Larger densities are refused.
    public static let densityTolerance = 1e-6

    /// The file the values came from, for messages.
    public let source: String
    /// The stored values, `log10(density + 1e-10)`, one per feature.
    public let log10Densities: [Float]

    /// The densities the file stands for: `10^s - 1e-10`, computed in float64 (a dead feature's -10
    /// gives about 0, possibly a tiny negative number).
    public var densities: [Double] {
        log10Densities.map { pow(10, Double($0)) - Self.epsilon }
    }

    // MARK: - Reading

    /// Reads a `sparsity.safetensors` file.
    /// - Parameter path: The file.
    /// - Throws: ``SafetensorsError``, as ``init(file:)``, or for an unreadable or malformed file.
    public init(path: String) throws {
        try self.init(file: SafetensorsFile(path: path))
    }

    /// Reads the sparsity tensor of a parsed file and checks every value.
    /// - Parameter file: The parsed file.
    /// - Throws: ``SafetensorsError/missingTensors(source:expected:found:)`` listing the tensors found,
    ///   ``SafetensorsError/unsupportedTensor(source:name:reason:)`` for a dtype other than F32 or a
    ///   shape other than `[d_sae]`, ``SafetensorsError/invalidValues(source:name:reason:)`` for NaN,
    ///   an infinity or a density above 1 (beyond ``densityTolerance``).
    public init(file: SafetensorsFile) throws {
        let name = Self.tensorName
        guard let tensor = file.tensors[name] else {
            throw SafetensorsError.missingTensors(source: file.source, expected: [name], found: file.tensors.keys.sorted())
        }
        guard tensor.dtype == "F32" else {
            throw SafetensorsError.unsupportedTensor(source: file.source, name: name,
                reason: "has dtype \(tensor.dtype); SAELens writes F32 (float32) log10 densities")
        }
        guard tensor.shape.count == 1, tensor.shape[0] > 0 else {
            throw SafetensorsError.unsupportedTensor(source: file.source, name: name,
                reason: "has shape \(tensor.shape); SAELens writes one value per feature, shape [d_sae]")
        }
        let values = try file.doubles(name).map(Float.init)
        for (index, value) in values.enumerated() {
            guard value.isFinite else {
                throw SafetensorsError.invalidValues(source: file.source, name: name,
                    reason: "holds \(value) at index \(index); log10(density + 1e-10) is finite for every density "
                        + "in [0, 1], so the file is damaged or was not written by SAELens")
            }
            let density = pow(10, Double(value)) - Self.epsilon
            guard density <= 1 + Self.densityTolerance else {
                throw SafetensorsError.invalidValues(source: file.source, name: name,
                    reason: "holds \(value) at index \(index), a density of \(density), above 1; SAELens stores "
                        + "log10(density + 1e-10), which is at most 0")
            }
        }
        source = file.source
        log10Densities = values
    }

    // MARK: - Counts

    /// Counts estimated from the densities, with how far they are from them.
    public struct Estimate: Sendable, Hashable {
        /// `round((10^s - 1e-10) * vectors)`, clamped to `[0, vectors]`, one per feature.
        public let counts: [Int64]
        /// The vector count the densities were scaled by.
        public let vectors: Int64
        /// The largest `|file density - count / vectors|` over the features, the file density being
        /// `10^s - 1e-10` unclamped: how much the estimate moved any density. Rounding to whole
        /// counts accounts for up to `0.5 / vectors`; the densities themselves are only as precise
        /// as float32 through the logarithm, about `density * 3e-7`.
        public let maxDensityError: Double
        /// Always `true`: counts read from densities are estimates; keep this mark with the import.
        public var isApproximate: Bool { true }
    }

    /// Estimates counts from the densities, given the number of vectors they were measured over.
    ///
    /// Each count is `round((10^s - 1e-10) * vectors)` computed in float64, clamped to `[0, vectors]`.
    /// - Parameter vectors: The number of activation vectors the densities cover; SAELens' feature
    ///   sampling window, in tokens.
    /// - Returns: The counts and the largest density error.
    /// - Throws: ``SAELensError/invalidVectorCount(_:)`` when `vectors <= 0`.
    public func estimate(vectors: Int64) throws -> Estimate {
        guard vectors > 0 else { throw SAELensError.invalidVectorCount(vectors) }
        let total = Double(vectors)
        var counts: [Int64] = []
        counts.reserveCapacity(log10Densities.count)
        var maxError = 0.0
        for density in densities {
            let scaled = (density * total).rounded()
            let count = scaled <= 0 ? 0 : scaled >= total ? vectors : Int64(scaled)
            counts.append(count)
            maxError = max(maxError, abs(density - Double(count) / total))
        }
        return Estimate(counts: counts, vectors: vectors, maxDensityError: maxError)
    }

    // MARK: - Writing

    /// The values SAELens would store for these counts: `log10(density + 1e-10)` in float32, with
    /// the density exactly as torch computes `counts / vectors + 1e-10` on a float32 tensor
    /// (`Float(count) / Float(vectors)`, one correctly rounded float32 division, then `Float(1e-10)`
    /// added in float32) and the **correctly rounded** float32 of its log10.
    ///
    /// The division and addition are exact IEEE float32 operations, so they match torch and numpy bit
    /// for bit. The logarithm has no single float32 answer among the libraries (numpy's float32
    /// `log10` differs from the correctly rounded value on a large share of densities, about half on
    /// the machine checked, torch's CPU kernel on about 0.1%, CUDA's `log10f` differently again),
    /// so the target is the correctly rounded
    /// value, within one ulp of each of them. It is computed as the float64 `log10` of the float32
    /// density, rounded to float32: `scripts/check-log10-rounding.c` checks every float32 in
    /// [1e-10, 1] against a 64-bit-significand reference and finds no difference (glibc 2.36).
    /// - Parameters:
    ///   - counts: One count per feature, `[F]` (pick one component of a `[C, F]` state).
    ///   - vectors: The vector count, positive.
    /// - Returns: One float32 value per feature.
    /// - Throws: ``SAELensError`` when `vectors <= 0`, `counts` is empty or a count is outside `0...vectors`.
    public static func log10Densities(counts: [Int64], vectors: Int64) throws -> [Float] {
        guard vectors > 0 else { throw SAELensError.invalidVectorCount(vectors) }
        guard !counts.isEmpty else { throw SAELensError.noFeatures }
        if let bad = counts.firstIndex(where: { $0 < 0 || $0 > vectors }) {
            throw SAELensError.countOutOfRange(index: bad, count: counts[bad], vectors: vectors)
        }
        let total = Float(vectors), epsilon = Float(Self.epsilon)
        return counts.map { Float(log10(Double(Float($0) / total + epsilon))) }
    }

    /// The bytes of a `sparsity.safetensors` file for these counts, identical to what
    /// `safetensors.torch.save_file({"sparsity": values}, path)` writes for the float32 values of
    /// ``log10Densities(counts:vectors:)`` (no metadata, one `F32` tensor of shape `[F]`).
    /// - Parameters:
    ///   - counts: One count per feature, `[F]`.
    ///   - vectors: The vector count, positive.
    /// - Returns: The whole file.
    /// - Throws: ``SAELensError``, as ``log10Densities(counts:vectors:)``.
    public static func fileBytes(counts: [Int64], vectors: Int64) throws -> [UInt8] {
        let values = try log10Densities(counts: counts, vectors: vectors)
        var writer = SafetensorsWriter()
        try writer.add(tensorName, shape: [values.count], values: .float32(values))
        return writer.bytes()
    }
}
