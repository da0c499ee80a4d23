internal import Synchronization

// MARK: - One writer per run

extension DensityStore {
    /// Makes this store handle the only writer of a run until the handle is released: a second
    /// process (or handle) that tries to write the run gets
    /// ``WriterLockError/heldByAnotherWriter(run:pid:)`` instead of interleaving its steps.
    ///
    /// Writing methods (``appendCheckpoint(run:step:state:approximate:)``,
    /// ``record(run:step:state:rank:approximate:)``, ``compact(run:keepEvery:keepLast:)``,
    /// ``resume(run:at:discardLater:)`` with `discardLater`, ``deleteRun(named:)``,
    /// ``merge(from:)``) take the lock themselves; a rank's writer of a distributed run takes only
    /// that rank's lock, so the ranks write side by side. Call this first when a command reads the
    /// run's state to build the next checkpoint from it, so no other writer can slip a checkpoint
    /// in between. The lock is taken once per run per handle (later calls cost a set lookup) and
    /// is dropped by the kernel if the process dies. A read-only store, or one in memory, takes no
    /// lock.
    /// - Parameters:
    ///   - name: The run's name.
    ///   - rank: For the writer of one rank of a distributed run, that rank
    ///     (`0..<DensityStore.maxWorldSize`): only that rank's lock is taken. `nil` (the default)
    ///     for the whole run.
    /// - Throws: ``StoreError/unknownRun(name:known:)``, ``StoreError/settingOutOfRange(_:value:expected:)`` for a
    ///   rank out of range, ``WriterLockError``.
    /// - Returns: The run locked.
    @discardableResult
    public func lockRunForWriting(_ name: String, rank: Int? = nil) throws -> Run {
        let run = try withConnection { try Self.requireRun($0, name) }
        if let rank, !(0..<Self.maxWorldSize).contains(rank) {
            throw StoreError.settingOutOfRange(.rank, value: String(rank), expected: "0 to \(Self.maxWorldSize - 1)")
        }
        try holdWriterLock(run, rank: rank)
        return run
    }

    /// Takes `run`'s writer lock, or that of one of its ranks, unless this handle holds it already
    /// (see ``lockRunForWriting(_:)``).
    func holdWriterLock(_ run: Run, rank: Int? = nil) throws {
        guard !isReadOnly, path != ":memory:", !path.isEmpty, !path.hasPrefix("file:") else { return }
        try writerLocks.withLock { locks in
            let key = HeldWriterLocks.Key(runID: run.id, rank: rank)
            guard !locks.held.contains(key), !locks.held.contains(.init(runID: run.id, rank: nil)) else { return }
            let file = try locks.file ?? RunWriterLock(storePath: path)
            locks.file = file
            try file.lock(runID: run.id, runName: run.name, rank: rank)
            locks.held.insert(key)
        }
    }
}

/// The writer locks a store handle holds: one lock file, and the runs (or ranks) locked in it.
struct HeldWriterLocks {
    /// A run, or one rank of it.
    struct Key: Hashable {
        let runID: Int64
        let rank: Int?
    }

    var file: RunWriterLock?
    var held: Set<Key> = []
}
