@testable import DensityCLI
import DensityFormats
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `density record`'s reader: it widens its pipe, and frames written through that pipe in one go
/// (more than the kernel's default 64 KiB) arrive whole and in order.
@Suite struct FramePrefetcherTests {
    /// F_GETPIPE_SZ, which Glibc's overlay leaves out.
    private static let getPipeSize: Int32 = 1024 + 8

    @Test func thePipeIsWidenedAndFramesArriveWhole() throws {
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let before = fcntl(ends[0], Self.getPipeSize)
        let steps: [Int64] = [5, 6, 7]
        let frames = try steps.map { step in
            var writer = SafetensorsWriter()
            try writer.add("neuron_fired_count", shape: [40_000], values: .int64((0..<40_000).map { Int64($0 % 9) * step }))
            try writer.add("num_activation_vectors", shape: [], values: .int64([9 * step]))
            try writer.add("step", shape: [], values: .int64([step]))
            return StateFrameReader.frame(writer.bytes())
        }
        let prefetcher = FramePrefetcher(descriptor: ends[0], source: "test pipe", maxFrameBytes: 1 << 20)
        #expect(before == 65_536)
        #expect(fcntl(ends[0], Self.getPipeSize) == FramePrefetcher.pipeBytes)
        let writeEnd = ends[1]
        let writer = Thread {
            for frame in frames {
                frame.withUnsafeBytes { bytes in
                    var done = 0
                    while done < bytes.count { done += max(0, write(writeEnd, bytes.baseAddress! + done, bytes.count - done)) }
                }
            }
            close(writeEnd)
        }
        writer.start()
        var received: [(Int64?, [Int64])] = []
        while let frame = try prefetcher.next() {
            let state = try frame.state.get()
            received.append((state.step, state.counts))
            #expect(frame.readsAhead)
            prefetcher.finished()
        }
        #expect(received.map(\.0) == steps)
        #expect(received.map(\.1) == steps.map { step in (0..<40_000).map { Int64($0 % 9) * step } })
    }
}
