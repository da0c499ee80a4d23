import DensityFormats
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reads `density record`'s frames on a thread of its own, one frame ahead of the recorder: the
/// next state is read from the pipe and checked while the previous one is encoded and committed.
///
/// A frame of at most ``readAheadBytes`` is read ahead; after a wider one the reader waits until
/// the recorder has finished it, so a wide state is in memory at most twice (the previous
/// checkpoint's, kept to delta against, and the one being stored), not three times.
final class FramePrefetcher: Sendable {
    /// The largest frame read ahead: 64 MiB, 8M int64 counts.
    static let readAheadBytes = 64 << 20

    /// One frame: the stream's frame number, its state or why the frame was refused (a
    /// `StateFrameError` ends the stream), and whether the next frame is read before this one is
    /// ``finished()`` (`false` after a frame wider than ``readAheadBytes``).
    typealias Frame = (number: Int, state: Result<TorchMetricsState, any Error>, readsAhead: Bool)

    private enum Slot {
        case frame(Frame)
        case end
        case failed(StateFrameError)
    }

    private let slot = Mutex<Slot?>(nil)
    private let filled = DispatchSemaphore(value: 0)
    private let emptied = DispatchSemaphore(value: 0)
    /// How many frames the recorder has finished, and its signal.
    private let finishedCount = Mutex(0)
    private let finishedFrame = DispatchSemaphore(value: 0)
    private let reader = DispatchGroup()

    /// Starts reading `descriptor` (the caller keeps it open until the stream ends).
    /// - Parameters:
    ///   - descriptor: The stream, such as `STDIN_FILENO`.
    ///   - source: Its name for messages.
    ///   - maxFrameBytes: The largest frame accepted.
    init(descriptor: Int32, source: String, maxFrameBytes: Int) {
        Self.widenPipe(descriptor)
        DispatchQueue.global(qos: .userInitiated).async(group: reader) { [self] in
            var frames = StateFrameReader(descriptor: descriptor, source: source, maxFrameBytes: maxFrameBytes)
            while true {
                let before = frames.offset
                let next: Slot
                do {
                    next = try frames.nextState().map {
                        .frame((frames.frameCount, $0, frames.offset - before <= Self.readAheadBytes))
                    } ?? .end
                } catch let error as StateFrameError {
                    next = .failed(error)
                } catch {
                    next = .failed(.unreadable(source: source, reason: "\(error)"))
                }
                slot.withLock { $0 = next }
                filled.signal()
                guard case .frame = next else { return }
                emptied.wait()
                if case .frame(let frame) = next, !frame.readsAhead {
                    while finishedCount.withLock({ $0 }) < frames.frameCount { finishedFrame.wait() }
                }
            }
        }
    }

    deinit { reader.wait() }

    /// The pipe buffer asked for: 1 MiB, the most an unprivileged process may set by default
    /// (`/proc/sys/fs/pipe-max-size`).
    static let pipeBytes: Int32 = 1 << 20

    /// Widens the stream's pipe buffer from the kernel's 64 KiB to ``pipeBytes``, so the writer
    /// and this reader trade a wide frame in a few large copies instead of one wake-up of each
    /// per 64 KiB. Nothing changes for a file, a terminal, or when the kernel refuses.
    static func widenPipe(_ descriptor: Int32) {
        #if os(Linux)
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFIFO else { return }
        // F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which Glibc's overlay leaves out (it is _GNU_SOURCE).
        _ = fcntl(descriptor, 1024 + 7, pipeBytes)
        #endif
    }

    /// Waits until the next frame (or the stream's end or failure) has been read, so ``next()``
    /// returns without waiting on the writer, or until `stop()` holds, asked every 200 µs.
    /// - Returns: Whether the next frame is ready.
    func waitUntilReady(orUntil stop: () -> Bool) -> Bool {
        while true {
            if filled.wait(timeout: .now() + .microseconds(200)) == .success {
                filled.signal()  // for next()
                return true
            }
            if stop() { return false }
        }
    }

    /// The next frame, waiting for it; `nil` at the end of the stream. Call ``finished()`` once
    /// the frame is stored.
    /// - Throws: ``StateFrameError`` when the stream cannot be read further.
    func next() throws -> Frame? {
        filled.wait()
        let next = slot.withLock { slot in defer { slot = nil }; return slot! }
        switch next {
        case .frame(let frame):
            emptied.signal()
            return frame
        case .end: return nil
        case .failed(let error): throw error
        }
    }

    /// Says the frame last returned by ``next()`` is stored (or refused): the reader may read a
    /// wide frame after it.
    func finished() {
        finishedCount.withLock { $0 += 1 }
        finishedFrame.signal()
    }
}
