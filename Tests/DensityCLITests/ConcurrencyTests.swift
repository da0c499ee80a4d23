import DensityMetric
import DensityStore
import Dispatch
import Foundation
import Synchronization
import Testing

/// Readers and writers in separate processes: `show`, `diff` and `trend` processes run while a
/// writer checkpoints continuously, with no reader error, each answer exactly that of one complete
/// checkpoint, and the writer never held up; two writers of one run never interleave.
@Suite struct ConcurrencyTests {
    static let features = 20_000
    /// The stated bound: a checkpoint append never takes longer than this while readers run (the
    /// readers never take the write lock; SQLite's busy timeout, 5 s, would be the hard limit).
    static let writerBound: Duration = .seconds(2)

    /// The cumulative state at step k: 1000 k vectors; feature f fires on a fraction (f % 97) / 200.
    static func state(at step: Int64) throws -> DensityState {
        try DensityState(features: features, components: nil, counts: (0..<features).map { count(of: $0, at: step) },
                         vectors: 1_000 * step)
    }

    /// Feature f's count at step k.
    static func count(of feature: Int, at step: Int64) -> Int64 { 1_000 * step * Int64(feature % 97) / 200 }

    @Test func readerProcessesSeeCompleteCheckpointsWhileAWriterAppends() throws {
        let readers = 3, iterations = TrustSettings.long ? 60 : 6
        try Sandbox.with { sandbox in
            let writer = try DensityStore(path: sandbox.db)
            try writer.createRun(name: "c", features: Self.features, chunkFeatures: 4096, keyframeInterval: 8)
            for step in Int64(1)...3 { try writer.appendCheckpoint(run: "c", step: step, state: Self.state(at: step)) }

            let done = Atomic<Bool>(false)
            let written = Atomic<Int>(3)
            let latencies = Mutex<[Duration]>([])
            let writerError = Mutex<String?>(nil)
            let writing = DispatchGroup()
            DispatchQueue.global().async(group: writing) {
                let clock = ContinuousClock()
                var step: Int64 = 3
                // About one checkpoint every 20 ms, as a fast training loop would write them.
                while !done.load(ordering: .acquiring) && step < 2_000 {
                    usleep(20_000)
                    step += 1
                    do {
                        let state = try Self.state(at: step)
                        let elapsed = try clock.measure { try writer.appendCheckpoint(run: "c", step: step, state: state) }
                        latencies.withLock { $0.append(elapsed) }
                        written.add(1, ordering: .releasing)
                    } catch {
                        writerError.withLock { $0 = "\(error)" }
                        return
                    }
                }
            }

            // Each reader process's answer must be that of one whole checkpoint.
            let failures = Mutex<[String]>([])
            let runs = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: readers) { reader in
                for iteration in 0..<iterations {
                    let feature = (reader * 7_919 + iteration * 104_729) % Self.features
                    for query in [["show", "c", "--format", "json"],
                                  ["diff", "c", "--from", "-2", "--to", "latest", "--format", "json"],
                                  ["trend", "c", "--feature", String(feature), "--format", "json"]] {
                        runs.add(1, ordering: .relaxed)
                        do {
                            if let problem = try Self.check(query, in: sandbox, feature: feature) {
                                failures.withLock { $0.append(problem) }
                            }
                        } catch {
                            failures.withLock { $0.append("\(query): \(error)") }
                        }
                    }
                }
            }
            done.store(true, ordering: .releasing)
            writing.wait()

            let problems = failures.withLock { $0 }
            #expect(problems.isEmpty, "\(problems.count) reader errors: \(problems.prefix(5))")
            #expect(writerError.withLock { $0 } == nil)
            let slowest = latencies.withLock { $0.max() } ?? .zero
            #expect(slowest < Self.writerBound, "slowest append while readers ran: \(slowest)")
            #expect(written.load(ordering: .acquiring) > 3, "the writer made no progress while readers ran")
            print("concurrency: \(runs.load(ordering: .relaxed)) reader processes (\(readers) readers x \(iterations) iterations x show, diff, trend), \(problems.count) errors; writer appended \(written.load(ordering: .acquiring) - 3) checkpoints meanwhile, slowest \(slowest) (bound \(Self.writerBound))")
        }
    }

    /// Runs one query process and checks its answer against the formula; a description of what is
    /// wrong, or `nil`.
    static func check(_ query: [String], in sandbox: Sandbox, feature: Int) throws -> String? {
        let result = try sandbox.db(query)
        guard result.status == 0, result.stderr.isEmpty else { return "\(result)" }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        func int(_ key: String, _ from: [String: Any] = object) -> Int64? { (from[key] as? NSNumber)?.int64Value }
        switch query[0] {
        case "show":
            guard let step = int("step") else { return "show without a step: \(result.stdout)" }
            let summary = DensitySummary(try state(at: step))
            let wanted: [String: Int64] = ["vectors": summary.vectors, "dead": Int64(summary.dead), "dense": Int64(summary.dense)]
            for (key, value) in wanted where int(key) != value {
                return "show at step \(step): \(key) \(int(key).map(String.init) ?? "none"), expected \(value)"
            }
            if (object["mean_density"] as? NSNumber)?.doubleValue != summary.meanDensity {
                return "show at step \(step): mean density \(object["mean_density"] ?? "none"), expected \(summary.meanDensity)"
            }
        case "diff":
            guard let from = int("from"), let to = int("to"), let density = object["density"] as? [NSNumber] else {
                return "diff without from, to or density: \(result.stdout.prefix(200))"
            }
            let window = try state(at: to).subtracting(try state(at: from))
            guard to == from + 2, int("vectors") == window.vectors, density.count == features else {
                return "diff (\(from), \(to)]: wrong window or vectors \(int("vectors") ?? -1)"
            }
            for f in 0..<features where density[f].doubleValue != Double(window.counts[f]) / Double(window.vectors) {
                return "diff (\(from), \(to)]: feature \(f) has density \(density[f]), expected \(Double(window.counts[f]) / Double(window.vectors))"
            }
        default:
            guard let points = object["points"] as? [[String: Any]] else { return "trend without points" }
            let steps = points.compactMap { int("step", $0) }
            guard steps == Array(1...Int64(max(1, steps.count))) else { return "trend steps are not every checkpoint: \(steps)" }
            for point in points {
                let step = int("step", point)!
                if int("vectors", point) != 1_000 * step || int("count", point) != count(of: feature, at: step) {
                    return "trend of feature \(feature) at step \(step): \(point), expected count \(count(of: feature, at: step))"
                }
            }
        }
        return nil
    }

    // MARK: - Two writers

    @Test func aSecondWriterProcessIsRefusedWhileTheFirstHoldsTheRun() throws {
        try Sandbox.with { sandbox in
            let file = try sandbox.npy("acts.npy", "np.random.default_rng(8).standard_normal((8, 16)).astype(np.float32)")
            try sandbox.ok(["create", "r", "--features", "16"])
            try sandbox.ok(["ingest", "r", "--step", "1", file])
            // Another process holds the run's lock (a plain POSIX record lock, as any tool could
            // take), with its pid in the range, then sleeps until it is killed.
            let holder = try BackgroundProcess(sandbox, ["python3", "-c", """
                import fcntl, os, struct, sys, time
                fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
                slot = 1 * \(RunWriterLock.slotsPerRun) * 8                 # run id 1, slot 0: its whole-run writer
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, slot, 0)
                os.pwrite(fd, struct.pack("<q", os.getpid()), slot)
                print("locked", flush=True)
                time.sleep(600)
                """, sandbox.db + ".lock"], executable: URL(fileURLWithPath: "/usr/bin/env"))
            var ready = false
            for _ in 0..<500 where !ready {
                usleep(20_000)
                ready = holder.stdoutSoFar == "locked\n" 
            }
            try #require(ready, "the lock holder did not start")
            let refused = try sandbox.db(["ingest", "r", "--step", "2", file])
            expectFailure(refused, mentioning: ["run 'r' is being written by another process (pid \(holder.pid))"])
            #expect(try sandbox.db(["resume", "r", "--at", "1", "--discard-later"]).stderr.contains("being written by another process"))
            #expect(try sandbox.db(["compact", "r", "--keep-every", "1"]).stderr.contains("being written by another process"))
            // record and import are refused at once, before reading their input.
            let recorder = try BackgroundProcess(sandbox, ["record", "r", "--db", sandbox.db], stdin: URL(fileURLWithPath: "/dev/zero"))
            let recorded = try recorder.wait()
            #expect(recorded.status == 1 && recorded.stderr.contains("run 'r' is being written by another process (pid \(holder.pid))"), "\(recorded)")
            try FileManager.default.createDirectory(atPath: sandbox.path("states"), withIntermediateDirectories: true)
            try sandbox.ok(["state", "r", "--dtype", "int64", "--out", sandbox.path("states/state-5.safetensors")])
            #expect(try sandbox.db(["import", "r", sandbox.path("states")]).stderr.contains("being written by another process"))
            // Readers are not affected.
            #expect(try sandbox.ok(["resume", "r"]) == "1\n")

            // A SIGKILLed holder leaves no stale lock.
            holder.killNow()
            _ = try holder.wait()
            try sandbox.ok(["ingest", "r", "--step", "2", file])
            #expect(try sandbox.ok(["resume", "r"]) == "2\n")
        }
    }

    @Test func twoWriterProcessesOfOneRunNeverInterleave() throws {
        try Sandbox.with { sandbox in
            let a = try sandbox.npy("a.npy", "(np.random.default_rng(1).standard_normal((3000, 2000)) - 1).astype(np.float32)")
            let b = try sandbox.npy("b.npy", "(np.random.default_rng(2).standard_normal((3000, 2000)) - 1).astype(np.float32)")
            let counts = (a: try Numpy.counts(of: [a], in: sandbox), b: try Numpy.counts(of: [b], in: sandbox))
            try sandbox.ok(["create", "r", "--features", "2000"])
            var expected = [Int64](repeating: 0, count: 2_000)
            var refusedByLock = 0, refusedByStep = 0
            let rounds = TrustSettings.long ? 40 : 5
            for round in 0..<rounds {
                let stepA = Int64(10 * round + 1), stepB = Int64(10 * round + 2)
                let first = try BackgroundProcess(sandbox, ["ingest", "r", "--step", String(stepA), a, "--db", sandbox.db])
                let second = try BackgroundProcess(sandbox, ["ingest", "r", "--step", String(stepB), b, "--db", sandbox.db])
                let results = [(try first.wait(), counts.a), (try second.wait(), counts.b)]
                for (result, added) in results {
                    if result.status == 0 {
                        expected = zip(expected, added).map { $0 + $1 }
                    } else if result.stderr.contains("is being written by another process") {
                        refusedByLock += 1
                    } else {
                        expectFailure(result, mentioning: ["is not after the latest checkpoint"])
                        refusedByStep += 1
                    }
                }
                // Whatever the order, the latest state holds exactly the successful ingests.
                let store = try DensityStore(path: sandbox.db, readOnly: true)
                #expect(try store.read { try $0.state(run: "r") }.state.counts == expected, "round \(round)")
            }
            print("two writers: \(rounds) rounds of two concurrent ingests, \(refusedByLock) refused by the run lock, \(refusedByStep) by the step order, no update lost")
        }
    }
}
