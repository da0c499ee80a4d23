// MARK: - States saved with numpy

extension TorchMetricsState {
    /// Reads a state from an `.npz` archive holding the torchmetrics names as arrays:
    /// `np.savez(path, neuron_fired_count=counts, num_activation_vectors=n)` (or
    /// `np.savez_compressed`), with an optional `step`.
    ///
    /// The arrays become an in-memory ``SafetensorsFile`` read by ``init(file:)``, so every check
    /// and message of a `.safetensors` state applies (whole, non-negative counts; the 2^24 float32
    /// warning; `step`). Integer arrays narrower than 32 bits or unsigned are widened to int64
    /// first (losslessly), so any integer dtype numpy writes is accepted.
    /// - Parameter path: The `.npz` file; messages name it (and `path:NAME.npy` for an array's content).
    /// - Throws: ``NpzError`` for a damaged archive, ``SafetensorsError/missingTensors(source:expected:found:)``
    ///   listing the arrays found, ``NpyError`` for an array numpy could not have written as a state,
    ///   or any ``SafetensorsError`` of ``init(file:)``.
    public init(npz path: String) throws {
        let archive = try NpzArchive(path: path)
        try Self.requireNames(found: archive.arrayNames, source: path)
        var arrays: [String: NpyTensor] = [:]
        for name in [Self.countsName, Self.vectorsName, Self.stepName] where archive.contains(name) {
            arrays[name] = try archive.tensor(name)
        }
        try self.init(file: Self.file(arrays, source: path, tensorSources: [:]))
    }

    /// Reads a state from an `.npy` pair: `np.save("neuron_fired_count.npy", counts)` and
    /// `np.save("num_activation_vectors.npy", n)`, with an optional `step` file.
    ///
    /// As for ``init(npz:)``, the arrays are checked by ``init(file:)``; each message names the file
    /// the faulty array came from.
    /// - Parameters:
    ///   - npyCounts: The `neuron_fired_count` array: `[F]` or `[C, F]`, integer or float.
    ///   - npyVectors: The `num_activation_vectors` array: a 0-d array or shape `[1]`.
    ///   - npyStep: The optional `step` array, one non-negative integer.
    /// - Throws: ``NpyError`` for a file that is not a usable `.npy` array, or any ``SafetensorsError``
    ///   of ``init(file:)``.
    public init(npyCounts: String, npyVectors: String, npyStep: String? = nil) throws {
        var arrays = [Self.countsName: try NpyTensor(path: npyCounts), Self.vectorsName: try NpyTensor(path: npyVectors)]
        var sources = [Self.countsName: npyCounts, Self.vectorsName: npyVectors]
        if let npyStep {
            arrays[Self.stepName] = try NpyTensor(path: npyStep)
            sources[Self.stepName] = npyStep
        }
        try self.init(file: Self.file(arrays, source: npyCounts, tensorSources: sources))
    }

    /// Lays arrays out as a safetensors file in memory, integers widened to int64 where needed.
    private static func file(_ arrays: [String: NpyTensor], source: String,
                             tensorSources: [String: String]) -> SafetensorsFile {
        var data: [UInt8] = []
        var tensors: [String: SafetensorsFile.Tensor] = [:]
        for (name, array) in arrays.sorted(by: { $0.key < $1.key }) {
            let (dtype, bytes) = array.widenedIntegers()
            let start = data.count
            data += bytes
            tensors[name] = SafetensorsFile.Tensor(dtype: dtype, shape: array.shape, range: start..<data.count)
        }
        return SafetensorsFile(source: source, tensors: tensors, data: data, tensorSources: tensorSources)
    }
}
