/// The explicit bounds of a store, checked with a clear error before anything is allocated: when a
/// run is created, and again whenever a run is read (a run row past them means the file is damaged
/// or was written by another tool).
public enum StoreLimits {
    /// The most counts a run holds: features × components ≤ 2^30 (1,073,741,824), so one state
    /// is at most 8 GiB of int64 counts in memory.
    public static let maxRunWidth = 1 << 30
    /// The most features in one stored chunk: 2^20 (1,048,576). A chunk's varints are at most 10
    /// bytes a count, so decoding one never allocates more than 10 MiB, whatever its blob claims.
    public static let maxChunkFeatures = 1 << 20
    /// The longest delta chain: a keyframe at least every 2^16 checkpoints.
    public static let maxKeyframeInterval = 1 << 16
    /// The largest count, vector total or non-finite count a store holds: 2^62
    /// (4,611,686,018,427,387,904; 146,000 years of a million vectors a second). Below it every
    /// difference, sum of two values, and conversion to and from float64 is exact or safe.
    public static let maxCount: Int64 = 1 << 62

    /// Why a state's numbers are past ``maxCount``, or `nil` when they are within it. Counts are
    /// at most the vectors (``DensityMetric/DensityState`` holds that), so the vectors and the
    /// non-finite count are what to check.
    /// - Parameters:
    ///   - vectors: The state's `num_activation_vectors`.
    ///   - nonFinite: The state's non-finite count.
    /// - Returns: A message naming the number and the bound, or `nil`.
    public static func rangeViolation(vectors: Int64, nonFinite: Int64) -> String? {
        let bound = "the supported range is 0 to 2^62 (\(maxCount))"
        if !(0...maxCount).contains(vectors) {
            return "num_activation_vectors \(vectors) is beyond what a store holds (\(bound), for it and every count)"
        }
        if !(0...maxCount).contains(nonFinite) {
            return "the non-finite count \(nonFinite) is beyond what a store holds (\(bound))"
        }
        return nil
    }

    /// Why a run's width or settings are past these limits, or `nil` when they are within them.
    /// - Parameters:
    ///   - features: The run's features.
    ///   - components: The run's components, or `nil`.
    ///   - chunkFeatures: Features per chunk.
    ///   - keyframeInterval: Checkpoints per keyframe.
    /// - Returns: A message naming the limit, or `nil`.
    public static func violation(features: Int, components: Int?, chunkFeatures: Int, keyframeInterval: Int) -> String? {
        let (width, overflow) = features.multipliedReportingOverflow(by: components ?? 1)
        if overflow || width > maxRunWidth {
            return "features x components must be at most \(maxRunWidth) (2^30 counts, 8 GiB per state), got \(features) x \(components ?? 1)"
        }
        if chunkFeatures > maxChunkFeatures {
            return "the features per chunk must be at most \(maxChunkFeatures), got \(chunkFeatures)"
        }
        if keyframeInterval > maxKeyframeInterval {
            return "the keyframe interval must be at most \(maxKeyframeInterval), got \(keyframeInterval)"
        }
        return nil
    }
}
