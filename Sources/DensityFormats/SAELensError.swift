/// Why a SAELens sparsity conversion was refused because of the values the caller gave (problems
/// in a file are ``SafetensorsError``s naming it).
public enum SAELensError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The vector count is zero or negative.
    case invalidVectorCount(Int64)
    /// There are no features to write.
    case noFeatures
    /// A count is negative or larger than the vector count.
    case countOutOfRange(index: Int, count: Int64, vectors: Int64)

    /// A one-line account of the problem and its fix.
    public var description: String {
        switch self {
        case let .invalidVectorCount(vectors):
            return "the vector count must be positive, got \(vectors); give the number of activation vectors "
                + "the SAELens densities were measured over (its feature sampling window, in tokens)"
        case .noFeatures:
            return "there are no features: a SAELens sparsity tensor has shape [d_sae] with d_sae >= 1"
        case let .countOutOfRange(index, count, vectors):
            return "the count \(count) of feature \(index) is outside 0...\(vectors) (the vector count); "
                + "a density must lie in [0, 1]"
        }
    }
}
