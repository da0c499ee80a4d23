public import Foundation
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// Writes a store's mirror (``StoreMirror``) every so often on a thread of its own, and once more
/// when closed: the recorder's commits never wait on a snapshot.
///
/// The thread runs at a lower priority (nice 10), copies through its own read connection to the
/// store, and skips a snapshot when nothing was committed since the last one (SQLite's
/// `data_version`).
public final class MirrorSchedule: Sendable {
    /// The mirror written.
    public let mirror: StoreMirror
    private let stop = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    private struct State {
        var written = 0
        var lastOrigin: MirrorOrigin?
        var closed = false
    }

    /// Starts the thread, which writes its first snapshot after `interval`.
    /// - Parameters:
    ///   - mirror: The mirror to write.
    ///   - interval: The time between snapshots.
    ///   - onError: Called (on the schedule's thread) with each snapshot's error; the next
    ///     snapshot is tried at the next interval.
    public init(_ mirror: StoreMirror, every interval: Duration, onError: @escaping @Sendable (any Error) -> Void) {
        self.mirror = mirror
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        Thread.detachNewThread { [self] in
            // Below the recorder's own threads: a snapshot takes what they leave of the CPU.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // 0: this thread, on Linux
            var connection: Connection?
            var lastVersion: Int64?
            while stop.wait(timeout: .now() + seconds) == .timedOut {
                do {
                    let source = try connection ?? Connection(path: mirror.source, mode: .readOnly)
                    connection = source
                    let version = try source.queryFirst("PRAGMA data_version") { $0.int64(0) }
                    if let lastVersion, version == lastVersion { continue }
                    let origin = try mirror.write(from: source)
                    lastVersion = version
                    state.withLock { $0.written += 1; $0.lastOrigin = origin }
                } catch {
                    connection = nil
                    onError(error)
                }
            }
            stopped.signal()
        }
    }

    /// How many snapshots were written so far, including the last one ``close()`` writes.
    public var snapshotsWritten: Int { state.withLock { $0.written } }

    /// Stops the thread (waiting for a snapshot in progress) and writes the last snapshot, which
    /// holds everything committed before this call. Later calls do nothing.
    /// - Returns: The last snapshot's origin, or `nil` when already closed.
    /// - Throws: ``MirrorError/snapshotFailed(path:reason:)``.
    @discardableResult
    public func close() throws -> MirrorOrigin? {
        guard state.withLock({ state in defer { state.closed = true }; return !state.closed }) else { return nil }
        stop.signal()
        stopped.wait()
        let origin = try mirror.write()
        state.withLock { $0.written += 1; $0.lastOrigin = origin }
        return origin
    }
}
