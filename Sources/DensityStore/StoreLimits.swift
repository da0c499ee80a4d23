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
            return "--chunk-features must be at most \(maxChunkFeatures), got \(chunkFeatures)"
        }
        if keyframeInterval > maxKeyframeInterval {
            return "--keyframe-interval must be at most \(maxKeyframeInterval), got \(keyframeInterval)"
        }
        return nil
    }
}
