import DensityFormats
import DensityMetric
import DensityStore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `density record --mirror DIR`: a whole snapshot of the store in a (shared) folder, replaced by
/// rename every --mirror-every seconds and at the end.
@Suite struct MirrorCommandTests {
    /// The `statfs` interposer of ``NetworkFileSystemTests``, reporting `DENSITY_TEST_FS_MAGIC` only
    /// for paths under `DENSITY_TEST_FS_PREFIX` (descriptors by their /proc/self/fd link): one
    /// folder of the sandbox plays the network file system, the rest stays local.
    static let fakeNetworkFolder = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        #include <sys/vfs.h>
        static int under(const char *path) {
            const char *prefix = getenv("DENSITY_TEST_FS_PREFIX");
            char resolved[4096];
            if (!prefix || !path) return 0;
            if (!realpath(path, resolved)) return strncmp(path, prefix, strlen(prefix)) == 0;
            return strncmp(resolved, prefix, strlen(prefix)) == 0;
        }
        static int fd_under(int fd) {
            char link[64], target[4096];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n < 0) return 0;
            target[n] = 0;
            return under(target);
        }
        static void fake(long *f_type) {
            const char *magic = getenv("DENSITY_TEST_FS_MAGIC");
            if (magic) *f_type = strtol(magic, 0, 0);
        }
        #define WRAP(name, arg, where, type, test) \
            int name(arg, type *buf) { \
                static int (*real)(arg, type *); \
                if (!real) real = (int (*)(arg, type *))dlsym(RTLD_NEXT, #name); \
                int result = real(where, buf); \
                if (result == 0 && test(where)) fake((long *)&buf->f_type); \
                return result; \
            }
        WRAP(statfs, const char *path, path, struct statfs, under)
        WRAP(statfs64, const char *path, path, struct statfs64, under)
        WRAP(fstatfs, int fd, fd, struct statfs, fd_under)
        WRAP(fstatfs64, int fd, fd, struct statfs64, fd_under)
        """#

    /// A stream of `count` frames of a run of `features` features, and the states it holds by step.
    static func stream(features: Int, count: Int) throws -> (bytes: Data, states: [Int64: DensityState]) {
        var counts = [Int64](repeating: 0, count: features)
        var seed: UInt64 = 0x31_4159
        var bytes = [UInt8](), states: [Int64: DensityState] = [:]
        for index in 1...count {
            for i in counts.indices {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                counts[i] += Int64(seed >> 33) % (i % 11 == 0 ? 1 : 500)
            }
            let step = Int64(index * 100)
            states[step] = try DensityState(features: features, components: nil, counts: counts, vectors: Int64(1000 * index))
            var writer = SafetensorsWriter()
            try writer.add("neuron_fired_count", shape: [features], values: .int64(counts))
            try writer.add("num_activation_vectors", shape: [], values: .int64([Int64(1000 * index)]))
            try writer.add("step", shape: [], values: .int64([step]))
            bytes += StateFrameReader.frame(writer.bytes())
        }
        return (Data(bytes), states)
    }

    @Test func aMirrorOnANetworkFileSystemIsWrittenWhileTheStoreStaysLocal() throws {
        try Sandbox.with { box in
            guard let library = try Interposer.build(Self.fakeNetworkFolder, named: "fakenfs", in: box) else { return }
            let shared = box.path("shared")
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            let prefix = URL(fileURLWithPath: shared).resolvingSymlinksInPath().path
            for (name, magic) in [("NFS", "0x6969"), ("Lustre", "0x0BD00BD0")] {
                let environment = ["LD_PRELOAD": library.path, "DENSITY_TEST_FS_MAGIC": magic, "DENSITY_TEST_FS_PREFIX": prefix]
                let local = box.path("\(name).sqlite")
                let (stream, states) = try Self.stream(features: 256, count: 6)
                let input = try box.write(stream, to: "\(name).bin")
                #expect(try box.density(["create", "r", "--features", "256", "--db", local], environment: environment).status == 0)
                // the store itself is refused on the shared folder: that is what the mirror is for
                let refused = try box.density(["create", "r", "--features", "256", "--db", shared + "/x.sqlite"], environment: environment)
                expectFailure(refused, mentioning: [name, "network file system"])
                let recorded = try Subprocess.run(
                    executable: URL(fileURLWithPath: "/bin/sh"),
                    arguments: ["-c", "exec \"$0\" record r --db \"$1\" --mirror \"$2\" < \"$3\"", try DensityBinary.url().path, local, shared, input],
                    cwd: box.work, environment: environment, io: box.root.appendingPathComponent("io"))
                #expect(recorded.status == 0, "\(recorded)")
                #expect(recorded.stderr.contains("mirrored to '\(shared)/\(name).sqlite'"), "\(recorded)")
                let mirror = shared + "/\(name).sqlite"
                // read there, under the same interposer: whole, of the last step, naming its source
                let json = try box.density(["show", "r", "--format", "json", "--db", mirror], environment: environment)
                #expect(json.status == 0, "\(json)")
                #expect(try KillTests.states(mirror, run: "r") == states)
                #expect(try StoreMirror.origin(at: mirror)?.source.hasSuffix(":" + local) == true)
                #expect(try RawStore.integrityCheck(mirror) == ["ok"])
            }
            // only the two mirrors: no journal, no temporary file left in the shared folder
            #expect(try FileManager.default.contentsOfDirectory(atPath: shared).sorted() == ["Lustre.sqlite", "NFS.sqlite"])
        }
    }

    /// The recorder is killed (SIGKILL) while a snapshot is being written: the previous mirror is
    /// whole, and the next recorder removes the dead one's temporary file.
    @Test func aRecorderKilledMidSnapshotLeavesThePreviousMirrorIntact() throws {
        try Sandbox.with { box in
            let features = 262_144
            let (stream, states) = try Self.stream(features: features, count: 40)
            let input = URL(fileURLWithPath: try box.write(stream, to: "stream.bin"))
            let shared = box.path("shared")
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            let mirror = shared + "/store.sqlite"
            func temporaries() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: shared)) ?? []).filter { $0.hasSuffix(".tmp") }
            }
            var caught = false
            for attempt in 1...5 where !caught {
                let db = box.path("store.sqlite")
                for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: db + suffix) }
                try? FileManager.default.removeItem(atPath: mirror)
                _ = try box.ok(["create", "r", "--features", String(features), "--keyframe-interval", "8"])
                let recorder = try BackgroundProcess(
                    box, ["record", "r", "--verbose", "--db", db, "--mirror", shared, "--mirror-every", "0.01"], stdin: input)
                // once a snapshot holding step 300 is in place (the mirror was replaced twice after
                // step 300 was acknowledged: the second snapshot began after the first ended), kill
                // as soon as the next snapshot's temporary file shows
                func inode() -> UInt64? { (try? FileManager.default.attributesOfItem(atPath: mirror))?[.systemFileNumber] as? UInt64 }
                var seen: [UInt64?] = []  // the mirror's inodes since step 300 was acknowledged
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline {
                    if seen.isEmpty, recorder.stderrSoFar.contains("step 300 stored") { seen = [inode()] }
                    if !seen.isEmpty, let now = inode(), now != seen.last { seen.append(now) }
                    if seen.count >= 3, !temporaries().isEmpty {
                        caught = recorder.killNow()
                        break
                    }
                    if recorder.stderrSoFar.contains("recorded") { break }  // it finished before we caught one
                    usleep(100)
                }
                let result = try recorder.wait()
                if !caught || !recorder.wasKilled { caught = false; print("attempt \(attempt): no snapshot caught in flight"); continue }
                try #require(!temporaries().isEmpty, "the snapshot in flight left no temporary file")
                // the previous mirror: a whole store, every step in it exactly as sent
                #expect(try RawStore.integrityCheck(mirror) == ["ok"])
                let mirrored = try KillTests.states(mirror, run: "r")
                #expect(mirrored.keys.contains(300), "the mirror holds steps \(mirrored.keys.sorted())")
                for (step, state) in mirrored { #expect(state == states[step], "step \(step) differs in the mirror") }
                #expect(try StoreMirror.origin(at: mirror) != nil)
                #expect(try box.density(["verify", "--db", mirror]).status == 0)
                _ = result
                // the next recorder from this host removes the dead one's temporary file, and
                // mirrors everything stored
                let again = try BackgroundProcess(box, ["record", "r", "--db", db, "--mirror", shared], stdin: input).wait()
                #expect(again.status == 0, "\(again)")
                #expect(temporaries().isEmpty)
                #expect(try KillTests.states(mirror, run: "r") == states)
            }
            #expect(caught, "no snapshot was caught in flight in 5 attempts")
        }
    }

    @Test func mergeTakesAFolderOfMirrors() throws {
        try Sandbox.with { box in
            let shared = box.path("shared")
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            var expected: [String: [Int64: DensityState]] = [:]
            for task in 0..<3 {
                let db = box.path("task-\(task).sqlite"), run = "seed-\(task)"
                let (stream, states) = try Self.stream(features: 32 + task, count: 3 + task)
                let input = URL(fileURLWithPath: try box.write(stream, to: "task-\(task).bin"))
                #expect(try box.density(["create", run, "--features", String(32 + task), "--db", db]).status == 0)
                let recorded = try BackgroundProcess(box, ["record", run, "--db", db, "--mirror", shared], stdin: input).wait()
                #expect(recorded.status == 0, "\(recorded)")
                expected[run] = states
            }
            try Data("notes".utf8).write(to: URL(fileURLWithPath: shared + "/README.txt"))  // not a mirror: left out
            let merged = try box.density(["merge", shared, "--into", box.path("sweep.sqlite")])
            #expect(merged.status == 0, "\(merged)")
            for (run, states) in expected { #expect(try KillTests.states(box.path("sweep.sqlite"), run: run) == states) }
            let empty = box.path("empty")
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            expectFailure(try box.density(["merge", empty, "--into", box.path("none.sqlite")]), mentioning: ["holds no store mirror"])
        }
    }
}
