public import Foundation

/// What a store mirror records of itself: the store it copies and when the copy was taken.
public struct MirrorOrigin: Sendable, Hashable, Codable {
    /// The mirrored store, as `host:/absolute/path`.
    public let source: String
    /// When the snapshot was taken: the copy holds every checkpoint committed before this time.
    public let snapshotAt: Date

    /// An origin.
    /// - Parameters:
    ///   - source: The mirrored store, as `host:/absolute/path`.
    ///   - snapshotAt: When the snapshot was taken.
    public init(source: String, snapshotAt: Date) {
        self.source = source
        self.snapshotAt = snapshotAt
    }

    /// How old the snapshot is at `now`, in seconds (0 for a clock running behind the writer's).
    /// - Parameter now: The time to measure from.
    /// - Returns: The age in seconds.
    public func age(at now: Date = Date()) -> Double { max(0, now.timeIntervalSince(snapshotAt)) }
}
