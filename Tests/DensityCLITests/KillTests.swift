import DensityFormats
import DensityMetric
import DensityStore
import DensityWorkload
import Foundation
import Testing

/// `density` writers (`ingest`, `checkpoint`, `record` streaming several frames, and `import` of a
/// folder of state files) SIGKILLed at
/// random moments (seeded) lose no committed checkpoint and never
/// leave a half-written one: after every kill the file passes `PRAGMA integrity_check`, the latest
/// checkpoint is the last one the writer reported, or the one it was writing (killed between the
/// commit and the report), its counts are exactly the uninterrupted run's, and resuming continues
/// to the same final counts. Compactions are killed too: the run is then either as it was or fully
/// compacted. `DENSITY_LONG_TESTS=1` performs at least 200 kills instead of 16.
@Suite struct KillTests {
    /// Features per run: 5 chunks of 8192, so a checkpoint is a real multi-chunk transaction.
    static let features = 40_000
    /// The steps of one uninterrupted run; a keyframe every 4 checkpoints.
    static let steps: [Int64] = (1...16).map { Int64($0) * 10 }
    static let activationFiles = 4

    /// What the harness counted, printed for the record.
    struct Tally: CustomStringConvertible {
        var rounds = 0, kills = 0, survived = 0
        var killedBeforeCommit = 0, killedAfterCommitBeforeReport = 0, completed = 0
        var compactionKills = 0, compactionsRolledBack = 0, compactionsCommitted = 0, recordKills = 0, importKills = 0
        var cycles = 0, committedLost = 0
        var description: String {
            "kill harness: \(kills) kills performed, \(survived) survived (\(killedBeforeCommit) before the commit, \(killedAfterCommitBeforeReport) after the commit but before the report, \(recordKills) of them of record streams, \(importKills) of imports, \(compactionKills) during compaction: \(compactionsRolledBack) rolled back, \(compactionsCommitted) committed), \(completed) writers finished before their kill, \(rounds) rounds, \(cycles) runs resumed to the end, \(committedLost) committed checkpoints lost"
        }
    }

    @Test func killedWritersLoseNothingCommitted() throws {
        let target = TrustSettings.long ? 200 : 16
        try Sandbox.with { sandbox in
            // The activations (numpy, float16) and the uninterrupted reference run.
            let files = try (0..<Self.activationFiles).map { index in
                try sandbox.npy("acts\(index).npy",
                                "(np.random.default_rng(\(index)).standard_normal((32, \(Self.features))) - 1.2).astype(np.float16)")
            }
            let reference = sandbox.path("reference.sqlite")
            try ok(sandbox, ["create", "ref", "--features", String(Self.features), "--keyframe-interval", "4", "--db", reference])
            var durations: [Double] = []
            for (index, step) in Self.steps.enumerated() {
                let start = Date()
                try ok(sandbox, ["ingest", "ref", "--step", String(step), files[index % files.count], "--db", reference])
                durations.append(Date().timeIntervalSince(start))
                try ok(sandbox, ["state", "ref", "--step", String(step), "--dtype", "int64",
                                 "--out", sandbox.path("state\(step).safetensors"), "--db", reference])
            }
            let expected = try Self.states(reference, run: "ref")
            try #require(expected.count == Self.steps.count)
            // The frames `density record` reads: each checkpoint's state with its step, as a
            // training loop sends them.
            let frames = try Dictionary(uniqueKeysWithValues: expected.map { step, state in
                var writer = SafetensorsWriter()
                try writer.add("neuron_fired_count", shape: [Self.features], values: .int64(state.counts))
                try writer.add("num_activation_vectors", shape: [], values: .int64([state.vectors]))
                try writer.add("step", shape: [], values: .int64([step]))
                return (step, StateFrameReader.frame(writer.bytes()))
            })
            // How long `record` takes to start, and per frame, so kills land inside its stream.
            func timedRecord(_ steps: ArraySlice<Int64>, run: String) throws -> Double {
                let stream = sandbox.root.appendingPathComponent("timing.bin")
                try Data(steps.flatMap { frames[$0]! }).write(to: stream)
                try ok(sandbox, ["create", run, "--features", String(Self.features), "--db", sandbox.path("timing.sqlite")])
                let start = Date()
                let recorder = try BackgroundProcess(sandbox, ["record", run, "--db", sandbox.path("timing.sqlite")], stdin: stream)
                try #require(try recorder.wait().status == 0)
                return Date().timeIntervalSince(start)
            }
            let one = try timedRecord(Self.steps.prefix(1), run: "t1"), all = try timedRecord(Self.steps[...], run: "t16")
            let perFrame = max(0.001, (all - one) / Double(Self.steps.count - 1))
            let recordStart = max(0.001, one - perFrame)
            let typical = durations.sorted()[durations.count / 2]

            var rng = SplitMix64(seed: 2026)
            var tally = Tally()
            var runNumber = 0
            var run = ""
            var next = Self.steps.count  // start a new run first
            var reported: [Int64] = []
            while tally.kills < target && tally.rounds < target * 6 {
                if next == Self.steps.count {
                    if !run.isEmpty {
                        try finish(run, sandbox: sandbox, expected: expected, typical: typical, rng: &rng, tally: &tally)
                    }
                    runNumber += 1
                    run = "k\(runNumber)"
                    try ok(sandbox, ["create", run, "--features", String(Self.features), "--keyframe-interval", "4", "--db", sandbox.db])
                    next = 0
                    reported = []
                }
                tally.rounds += 1
                let step = Self.steps[next]
                let writer: BackgroundProcess
                var streamed: [Int64] = []
                var importing = false
                var span = typical
                switch rng.next() % 4 {
                case 0:
                    writer = try BackgroundProcess(sandbox, ["ingest", run, "--step", String(step), files[next % files.count], "--db", sandbox.db])
                case 1:
                    writer = try BackgroundProcess(sandbox, ["checkpoint", run, "--step", String(step), sandbox.path("state\(step).safetensors"), "--db", sandbox.db])
                case 2:
                    // A folder of state files: two already stored (skipped), then up to 4 new ones.
                    let batch = Array(Self.steps[max(0, next - 2)...].prefix(6))
                    streamed = batch.filter { $0 >= step }
                    importing = true
                    let folder = sandbox.root.appendingPathComponent("import\(tally.rounds)")
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    for batchStep in batch {
                        try FileManager.default.createSymbolicLink(
                            atPath: folder.appendingPathComponent("state-\(batchStep).safetensors").path,
                            withDestinationPath: sandbox.path("state\(batchStep).safetensors"))
                    }
                    writer = try BackgroundProcess(sandbox, ["import", run, folder.path, "--db", sandbox.db])
                    span = typical * Double(streamed.count)
                default:
                    // A stream of up to 4 frames, from the step to write on.
                    streamed = Array(Self.steps[next...].prefix(4))
                    let stream = sandbox.root.appendingPathComponent("stream.bin")
                    try Data(streamed.flatMap { frames[$0]! }).write(to: stream)
                    writer = try BackgroundProcess(sandbox, ["record", run, "--verbose", "--db", sandbox.db], stdin: stream)
                    span = recordStart + perFrame * Double(streamed.count)
                }
                // Mostly late in the writer's life, where it decodes, encodes and commits.
                usleep(UInt32((0.2 + Double(rng.next() % 1_000) / 1_000) * span * 1_000_000))
                writer.killNow()
                let result = try writer.wait()
                let killed = writer.wasKilled
                // What the writer reported as stored before it ended.
                // (`import` reports only at its end, `record` each frame as it is stored.)
                let reportedNow = streamed.isEmpty || importing
                    ? (killed ? [] : streamed.isEmpty ? [step] : streamed)
                    : streamed.filter { result.stderr.contains("run '\(run)': step \($0) stored from") }
                if !killed {
                    try #require(result.status == 0, "an uninterrupted writer failed: \(result)")
                    tally.completed += 1
                    if importing {
                        #expect(result.stderr.contains("imported \(streamed.count) file"), "\(result)")
                    } else if !streamed.isEmpty {
                        #expect(reportedNow == streamed, "\(result)")
                    }
                }
                reported += reportedNow
                // The step being written when it died: the first one not reported.
                let writing = streamed.isEmpty ? step : (streamed.first { !reportedNow.contains($0) } ?? step)

                // The store after the kill: intact, and exactly the reference up to its latest step.
                #expect(try RawStore.integrityCheck(sandbox.db) == ["ok"])
                let stored = try Self.states(sandbox.db, run: run)
                let storedSteps = stored.keys.sorted()
                // The last checkpoint known to be committed: reported in this round, else the one
                // the run resumed from (the store's latest when this writer started).
                let previous = reportedNow.last ?? (next > 0 ? Self.steps[next - 1] : nil)
                let latest = storedSteps.last
                #expect(storedSteps == Array(Self.steps.prefix(storedSteps.count)), "steps stored: \(storedSteps)")
                let lost = reported.filter { stored[$0] == nil }
                tally.committedLost += lost.count
                var good = lost.isEmpty && storedSteps == Array(Self.steps.prefix(storedSteps.count))
                if killed {
                    tally.kills += 1
                    // An import reports nothing until its end: any file of it may be stored.
                    let acceptable = latest == previous || latest == writing || (importing && latest.map(streamed.contains) == true)
                    #expect(acceptable, "after a kill while writing step \(writing), the latest checkpoint is \(latest.map(String.init) ?? "none"); last known committed \(previous.map(String.init) ?? "none")")
                    good = good && acceptable
                    if latest == writing && latest != previous { tally.killedAfterCommitBeforeReport += 1 } else { tally.killedBeforeCommit += 1 }
                    if importing { tally.importKills += 1 } else if !streamed.isEmpty { tally.recordKills += 1 }
                } else {
                    #expect(latest == (streamed.last ?? step))
                }
                for (checkpointStep, state) in stored where state != expected[checkpointStep] {
                    Issue.record("the state at step \(checkpointStep) differs from the uninterrupted run's")
                    good = false
                }
                if killed && good { tally.survived += 1 }

                // Resume where the store says, as a restarted training loop would.
                let resumed = try sandbox.db(["resume", run])
                if let latest {
                    try #require(resumed.status == 0, "resume: \(resumed)")
                    #expect(resumed.stdout == "\(latest)\n")
                    next = try #require(Self.steps.firstIndex(of: latest)) + 1
                } else {
                    expectFailure(resumed, mentioning: ["no checkpoints"])
                    next = 0
                }
            }
            // Write the last run's remaining steps without kills: resuming reaches the same end.
            for index in next..<Self.steps.count {
                try ok(sandbox, ["ingest", run, "--step", String(Self.steps[index]), files[index % files.count], "--db", sandbox.db])
            }
            try finish(run, sandbox: sandbox, expected: expected, typical: typical, rng: &rng, tally: &tally)
            print(tally)
            #expect(tally.cycles >= 1)
            #expect(tally.kills >= target, "\(tally)")
            #expect(tally.survived == tally.kills, "\(tally)")
            #expect(tally.committedLost == 0, "\(tally)")
        }
    }

    /// A run that reached the last step: its final counts are the uninterrupted run's, `verify`
    /// passes, and a compaction killed at a random moment leaves it either untouched or compacted.
    private func finish(_ run: String, sandbox: Sandbox, expected: [Int64: DensityState], typical: Double,
                        rng: inout SplitMix64, tally: inout Tally) throws {
        tally.cycles += 1
        let final = try Self.states(sandbox.db, run: run)
        #expect(final == expected, "run \(run) resumed to the end differs from the uninterrupted run")
        try ok(sandbox, ["verify", run, "--db", sandbox.db])

        let compaction = try BackgroundProcess(sandbox, ["compact", run, "--keep-every", "30", "--keep-last", "2", "--db", sandbox.db])
        usleep(UInt32(Double(rng.next() % 1_000) / 1_000 * typical * 2 * 1_000_000))
        compaction.killNow()
        let result = try compaction.wait()
        #expect(try RawStore.integrityCheck(sandbox.db) == ["ok"])
        let after = try Self.states(sandbox.db, run: run)
        let compacted = Self.steps.filter { $0 % 30 == 0 || $0 == Self.steps.first || Self.steps.suffix(2).contains($0) }
        let steps = after.keys.sorted()
        #expect(steps == Self.steps || steps == compacted, "steps after a killed compaction: \(steps)")
        for (step, state) in after {
            #expect(state == expected[step], "step \(step) changed in a killed compaction")
        }
        if compaction.wasKilled {
            tally.kills += 1
            tally.compactionKills += 1
            if steps == Self.steps { tally.compactionsRolledBack += 1 } else { tally.compactionsCommitted += 1 }
            if (steps == Self.steps || steps == compacted) && after.allSatisfy({ expected[$0.key] == $0.value }) {
                tally.survived += 1
            }
        } else {
            #expect(result.status == 0, "\(result)")
        }
        try ok(sandbox, ["verify", run, "--db", sandbox.db])
    }

    /// Every checkpoint's exact state, read with the library.
    static func states(_ path: String, run: String) throws -> [Int64: DensityState] {
        let store = try DensityStore(path: path, readOnly: true)
        var states: [Int64: DensityState] = [:]
        for checkpoint in try store.read { try $0.checkpoints(run: run) } {
            states[checkpoint.step] = try #require(try store.read { try $0.state(run: run, at: .exact(checkpoint.step)) }).state
        }
        return states
    }

    private func ok(_ sandbox: Sandbox, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try sandbox.density(arguments)
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    }
}
