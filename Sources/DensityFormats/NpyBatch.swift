/// A run of consecutive rows (first-axis entries) of an `.npy` array, in C (row-major) order and
/// the machine's byte order, ready for ``DensityMetric/FeatureDensityMetric``.
public struct NpyBatch: Sendable {
    /// The values of a batch, in the file's element type.
    public enum Values: Sendable {
        /// Half-precision values as IEEE 754 bit patterns (Swift has no `Float16` on every platform);
        /// feed them to `FeatureDensityMetric.update(float16BitPatterns:shape:)`.
        case float16([UInt16])
        /// Single-precision values.
        case float32([Float])
        /// Double-precision values.
        case float64([Double])

        /// The number of values.
        public var count: Int {
            switch self {
            case let .float16(values): return values.count
            case let .float32(values): return values.count
            case let .float64(values): return values.count
            }
        }

        /// The element type.
        public var dtype: NpyHeader.DType {
            switch self {
            case .float16: return .float16
            case .float32: return .float32
            case .float64: return .float64
            }
        }

        /// The values of `rows` rows of `width` values each, starting at row `first`.
        func rows(_ first: Int, count rows: Int, width: Int) -> Values {
            let range = (first * width)..<((first + rows) * width)
            switch self {
            case let .float16(values): return .float16(Array(values[range]))
            case let .float32(values): return .float32(Array(values[range]))
            case let .float64(values): return .float64(Array(values[range]))
            }
        }
    }

    /// The index in the file of this batch's first row.
    public let firstRow: Int
    /// The batch's shape: `[rows] + shape.dropFirst()` of the file's shape.
    public let shape: [Int]
    /// The values, row-major, `shape.reduce(1, *)` of them.
    public let values: Values

    /// The number of rows in the batch: `shape[0]`.
    public var rowCount: Int { shape[0] }
}
