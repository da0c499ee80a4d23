internal import DensityMetric
internal import Dispatch
internal import Foundation
internal import Synchronization

// MARK: - When features last fired, from a binary search of the keyframes and the deltas that hold the answer

extension DensityStore {
    /// The last checkpoint, up to `checkpoints[end]`, at which each of `features` fired (its
    /// count grew), inside the caller's transaction.
    ///
    /// Counts only grow, so a feature last fired at the first checkpoint whose count equals its
    /// count at `end`. Each chunk first finds, for each of its listed features, the first keyframe
    /// already at that count by a binary search over the keyframes that all of them share (a
    /// keyframe read splits the features into those that reach their count by it and those that
    /// do not): about log2(keyframes) keyframes for features that resolve together, never more
    /// than every keyframe once. The last firing then lies in the stretch of deltas before that
    /// keyframe (or at it); each stretch holding one is walked forward from its keyframe, reading
    /// only its listed features' values, and left as soon as they all reach their count. Every
    /// blob read is checked against its checksum, its encoding against the chain's depth, and each
    /// change against the vectors added.
    ///
    /// Chunks are independent: the cores share them, each reading blobs through its own statement
    /// on the caller's connection (one at a time, so one snapshot) and decoding them on its own.
    /// A damaged chunk fails the search with the error of the first such chunk in storage order.
    /// - Parameters:
    ///   - checkpoints: The run's checkpoints, in step order.
    ///   - end: The index in `checkpoints` of the last checkpoint to look at.
    ///   - features: Flat indexes whose count at `end` is `final[index]`.
    ///   - final: The counts at `end`, every flat index.
    /// - Returns: The step each feature last fired at; a feature that never fired (count 0 at `end`) is absent.
    static func lastFiredSteps(_ db: Connection, _ run: Run, checkpoints: [Checkpoint], end: Int,
                               features: [Int], final: [Int64]) throws -> [Int: Int64] {
        let wanted = features.filter { final[$0] > 0 }
        guard !wanted.isEmpty else { return [:] }
        let search = try LastFiredSearch(run, checkpoints: checkpoints, end: end)
        let chunks = Dictionary(grouping: wanted) { index in
            let component = index / run.features
            return component * run.chunksPerComponent + (index % run.features) / run.chunkFeatures
        }.sorted { $0.key < $1.key }

        let lock = NSLock()
        let helpers = min(ProcessInfo.processInfo.activeProcessorCount, chunks.count) - 1
        let readers = try (0...max(0, helpers)).map { _ in try ChunkBlobs(db, lock: lock) }
        struct Work {
            var next = 0
            var failed = false
            var outcomes: [Result<[(Int, Int64)], any Error>?]
        }
        let work = Mutex(Work(outcomes: .init(repeating: nil, count: chunks.count)))
        @Sendable func drain(_ reader: ChunkBlobs) {
            while let claimed = work.withLock({ work -> Int? in
                guard !work.failed, work.next < chunks.count else { return nil }
                defer { work.next += 1 }
                return work.next
            }) {
                let (key, indexes) = chunks[claimed]
                let position = DensityStore.chunkPosition(run, component: key / run.chunksPerComponent,
                                                          chunk: key % run.chunksPerComponent)
                let offsets = Set(indexes.map { $0 - position.start }).sorted()  // ascending offsets in the chunk
                let outcome = Result {
                    try search.chunk(position, offsets: offsets, target: offsets.map { final[position.start + $0] }, reader)
                }
                work.withLock { work in
                    if case .failure = outcome { work.failed = true }  // chunks claimed before still finish
                    work.outcomes[claimed] = outcome
                }
            }
        }
        let group = DispatchGroup()
        for helper in readers.dropFirst() {
            DispatchQueue.global(qos: .userInitiated).async(group: group) { drain(helper) }
        }
        drain(readers[0])
        group.wait()
        var found: [Int: Int64] = [:]
        for outcome in work.withLock({ $0.outcomes }) {
            // Claimed in order: every chunk before the first failure has an outcome.
            guard let outcome else { break }
            for (index, step) in try outcome.get() { found[index] = step }
        }
        return found
    }
}

/// One core's reader of chunk blobs: its own statement on the transaction's connection, stepped
/// only while holding the shared lock (the connection is opened without SQLite's own mutex), and
/// a copy of the last blob read, decoded outside the lock.
final class ChunkBlobs: @unchecked Sendable {
    private let statement: Statement
    private let lock: NSLock
    let zstd = Zstd()
    private var blob: [UInt8] = []
    private var scratch: [UInt8] = []

    /// Prepares the statement; call before any other core uses the connection.
    init(_ db: Connection, lock: NSLock) throws {
        statement = try db.prepare("SELECT encoding, checksum, data FROM chunks WHERE checkpoint_id = ? AND component = ? AND chunk = ?")
        self.lock = lock
    }

    /// Decodes the values at `offsets` (ascending) of one chunk of `checkpoint` onto `values`,
    /// the counts at the checkpoint before (a keyframe replaces them).
    func read(_ run: Run, _ checkpoint: Checkpoint, component: Int, chunk: Int, width: Int, offsets: [Int],
              onto values: inout [Int64]) throws {
        lock.lock()
        let stored: (encoding: Int64, checksum: Int64)?
        do {
            defer { lock.unlock() }
            try statement.bind([.integer(checkpoint.id), .integer(Int64(component)), .integer(Int64(chunk))])
            if try statement.step() {
                stored = (statement.int64(0), statement.int64(1))
                statement.withBlob(2) { bytes in
                    blob.removeAll(keepingCapacity: true)
                    blob.append(contentsOf: bytes)
                }
            } else {
                stored = nil
            }
        }
        try blob.withUnsafeBytes { blob in
            try offsets.withUnsafeBufferPointer { offsets in
                try values.withUnsafeMutableBufferPointer { values in
                    try DeltaChain.decode(encoding: stored?.encoding, checksum: stored?.checksum ?? 0, blob: blob, run: run,
                                          step: checkpoint.step, depth: checkpoint.deltaDepth, component: component,
                                          chunk: chunk, at: offsets, width: width, onto: values, zstd: zstd, scratch: &scratch)
                }
            }
        }
    }
}

/// When features last fired, one chunk at a time: the one definition of a last firing, used by
/// ``DensityStore/lastFiredSteps(_:_:checkpoints:end:features:final:)`` (`dead`) and by the
/// most recently dead of ``DensityStore/movers(run:window:top:recentlyDead:)`` (`report`).
struct LastFiredSearch: Sendable {
    let run: Run
    let checkpoints: [Checkpoint]
    let end: Int
    /// Indexes in `checkpoints` of the keyframes up to `end`.
    let keyframes: [Int]

    /// A search of the checkpoints up to `checkpoints[end]` (the run's, in step order), after
    /// checking that each links to the one before.
    /// - Throws: ``StoreError/corruptChunk(run:step:component:chunk:reason:)`` for a broken chain.
    init(_ run: Run, checkpoints: [Checkpoint], end: Int) throws {
        // The keyframes up to `end`, each starting a stretch that ends before the next one.
        var keyframes: [Int] = []
        var cursor = DeltaChain.Cursor(run, Array(checkpoints[0...end]))
        var index = 0
        while let checkpoint = try cursor.next() {
            if checkpoint.deltaDepth == 0 { keyframes.append(index) }
            index += 1
        }
        (self.run, self.checkpoints, self.end, self.keyframes) = (run, checkpoints, end, keyframes)
    }

    /// The last firings of the features at `offsets` (ascending, distinct) of the chunk at
    /// `position`, whose counts at `end` are `target` (one each, positive): the flat index of
    /// each and the step of its last firing.
    ///
    /// With `notBefore`, a feature whose last firing the search has shown to be before that step
    /// is left out as soon as that is known (a caller keeping only the latest firings passes the
    /// earliest it still keeps), so that part of the search is skipped.
    func chunk(_ position: DensityStore.ChunkPosition, offsets: [Int], target: [Int64], _ reader: ChunkBlobs,
               notBefore: Int64 = .min) throws -> [(Int, Int64)] {
        let (component, chunk, start, width) = position
        let describe = { (offset: Int) in
            DensityState.describeIndex(start + offset, features: run.features, components: run.components)
        }
        func read(_ index: Int, _ offsets: [Int], onto values: inout [Int64]) throws {
            try reader.read(run, checkpoints[index], component: component, chunk: chunk, width: width, offsets: offsets,
                            onto: &values)
        }
        // For each slot (an offset), the first keyframe (a position in `keyframes`) at its final
        // count, `keyframes.count` when none is, and its count at the keyframe before.
        var first = [Int](repeating: keyframes.count, count: offsets.count)
        var below = [Int64](repeating: 0, count: offsets.count)
        // Each search holds the slots whose first keyframe is in lo...hi (hi: none), ascending.
        var searches: [(lo: Int, hi: Int, slots: [Int])] = [(0, keyframes.count, Array(offsets.indices))]
        // The latest step a last firing can be at when its first keyframe at its count is in lo...hi.
        let latest = { (hi: Int) in checkpoints[hi < keyframes.count ? keyframes[hi] : end].step }
        var left = Set<Int>()  // slots left out by `notBefore`
        while let (lo, hi, slots) = searches.popLast() {
            if latest(hi) < notBefore {
                left.formUnion(slots)
                continue
            }
            guard lo < hi else {
                for slot in slots { first[slot] = lo }
                continue
            }
            let middle = (lo + hi) / 2, keyframe = keyframes[middle]
            var values = [Int64](repeating: 0, count: slots.count)
            try read(keyframe, slots.map { offsets[$0] }, onto: &values)
            let vectors = checkpoints[keyframe].vectors
            if let bad = slots.indices.first(where: { values[$0] > vectors || values[$0] > target[slots[$0]] }) {
                throw StoreError.inconsistentHistory(
                    run: run.name, step: checkpoints[keyframe].step, previousStep: nil,
                    detail: "the count at \(describe(offsets[slots[bad]])) is \(values[bad]), above the vectors seen (\(vectors)) or the later count (\(target[slots[bad]]))")
            }
            var reached: [Int] = [], later: [Int] = []
            for (i, slot) in slots.enumerated() {
                if values[i] == target[slot] {
                    reached.append(slot)
                } else {
                    later.append(slot)
                    below[slot] = values[i]  // the last one kept is at the keyframe before the first reached
                }
            }
            if !reached.isEmpty { searches.append((lo, middle, reached)) }
            if !later.isEmpty { searches.append((middle + 1, hi, later)) }
        }
        // At the first keyframe: the first checkpoint fired whatever it counts.
        var found: [(Int, Int64)] = []
        var stretches: [Int: [Int]] = [:]
        for slot in offsets.indices where !left.contains(slot) {
            if first[slot] == 0 {
                found.append((start + offsets[slot], checkpoints[0].step))
            } else {
                stretches[first[slot] - 1, default: []].append(slot)
            }
        }
        for (stretch, slots) in stretches.sorted(by: { $0.key < $1.key }) {
            // The stretch's deltas, walked forward from its keyframe while a slot is below its
            // final count; a slot's last change is its last firing.
            let last = stretch + 1 < keyframes.count ? keyframes[stretch + 1] - 1 : end
            var pending = slots, counts = slots.map { below[$0] }
            var lastChange: [Int: Int] = [:]
            var index = keyframes[stretch] + 1
            while !pending.isEmpty && index <= last {
                var values = counts
                try read(index, pending.map { offsets[$0] }, onto: &values)
                var still: [Int] = [], stillCounts: [Int64] = []
                for (i, slot) in pending.enumerated() {
                    if values[i] != counts[i] {
                        try DeltaChain.requireFollows(run, values[i], of: (checkpoints[index].step, checkpoints[index].vectors),
                                                      after: counts[i],
                                                      of: (checkpoints[index - 1].step, checkpoints[index - 1].vectors),
                                                      at: start + offsets[slot])
                        lastChange[slot] = index
                    }
                    if values[i] < target[slot] {
                        still.append(slot)
                        stillCounts.append(values[i])
                    }
                }
                (pending, counts) = (still, stillCounts)
                index += 1
            }
            for slot in slots {
                // Still below at the stretch's end: it fired at the next keyframe.
                let at = pending.contains(slot) ? last + 1 : lastChange[slot]!
                guard at <= end else {
                    throw StoreError.inconsistentHistory(
                        run: run.name, step: checkpoints[end].step, previousStep: nil,
                        detail: "the count at \(describe(offsets[slot])) does not add up along its delta chain")
                }
                found.append((start + offsets[slot], checkpoints[at].step))
            }
        }
        return found
    }
}
