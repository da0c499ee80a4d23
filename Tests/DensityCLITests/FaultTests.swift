import DensityStore
import Foundation
import Testing

/// Faults while writing a checkpoint: a full disk (a small tmpfs), I/O errors (EIO from the WAL's
/// writes), a write-protected store file, a write-protected folder. Each is refused with a message that says what happened and what to do,
/// the previous checkpoint stays intact (and `verify` passes), and the same command succeeds once
/// the cause is gone. `DENSITY_LONG_TESTS=1` fills the disk at 20 different levels instead of 3.
@Suite(.serialized) struct FaultTests {
    /// The latest step of `run`, read with `show` as the same user as the writer.
    private func latestStep(_ sandbox: Sandbox, _ run: String, db: String, unprivileged: Bool = true) throws -> Int64? {
        let arguments = ["show", run, "--format", "json", "--db", db]
        let result = try unprivileged ? Unprivileged.density(sandbox, arguments) : sandbox.density(arguments)
        guard result.status == 0 else { return nil }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (object?["step"] as? NSNumber)?.int64Value
    }

    @Test func fullDiskRefusesTheCheckpointAndKeepsThePreviousOne() throws {
        try Sandbox.with { sandbox in
            let levels = TrustSettings.long ? 20 : 3
            let file = try sandbox.npy("acts.npy", "np.random.default_rng(5).standard_normal((64, 30000)).astype(np.float32)")
            var faults = 0
            for level in 0..<levels {
                let mountPoint = sandbox.root.appendingPathComponent("small\(level)")
                guard let fileSystem = try SmallFileSystem.mount(at: mountPoint, kilobytes: 400 + 60 * level) else {
                    print("faults: disk full not tested (mounting a tmpfs needs root)")
                    return
                }
                defer { fileSystem.unmount() }
                let db = mountPoint.appendingPathComponent("store.sqlite").path
                let created = try sandbox.density(["create", "r", "--features", "30000", "--keyframe-interval", "3", "--db", db])
                try #require(created.status == 0, "\(created)")
                var step: Int64 = 0
                var failure: CommandResult?
                while failure == nil && step < 200 {
                    step += 1
                    let result = try sandbox.density(["ingest", "r", "--step", String(step), file, "--db", db])
                    if result.status != 0 { failure = result }
                }
                let refused = try #require(failure, "the \(400 + 60 * level) KiB file system never filled up")
                faults += 1
                expectFailure(refused, mentioning: ["full", "nothing of this command was stored", "free some space"])
                // The previous checkpoint is intact and complete.
                #expect(try RawStore.integrityCheck(db) == ["ok"])
                #expect(try latestStep(sandbox, "r", db: db, unprivileged: false) == step - 1)
                let verify = try sandbox.density(["verify", "--db", db])
                #expect(verify.status == 0 && verify.stdout.hasPrefix("ok: 1 runs, \(step - 1) checkpoints"), "\(verify)")
                // Room again: the same command succeeds.
                try fileSystem.remount("size=16m")
                let retry = try sandbox.density(["ingest", "r", "--step", String(step), file, "--db", db])
                #expect(retry.status == 0, "\(retry)")
                #expect(try latestStep(sandbox, "r", db: db, unprivileged: false) == step)
            }
            print("faults: disk full injected \(faults) times (\(levels) file-system sizes), each refused cleanly, previous checkpoint intact, retry succeeded")
        }
    }

    /// An interposer of `pwrite64` that fails the N-th write to a `-wal` file (N from
    /// `DENSITY_TEST_FAIL_WAL_WRITE`) with EIO, as a failing disk would.
    static let failingWrites = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        static long countdown = -2;
        static int is_wal(int fd) {
            char link[64], path[4096];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, path, sizeof path - 1);
            if (n <= 4) return 0;
            path[n] = 0;
            return strcmp(path + n - 4, "-wal") == 0;
        }
        ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
            static ssize_t (*real)(int, const void *, size_t, off_t);
            if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
            if (countdown == -2) { const char *v = getenv("DENSITY_TEST_FAIL_WAL_WRITE"); countdown = v ? atol(v) : -1; }
            if (countdown >= 0 && is_wal(fd)) {
                if (countdown == 0) { errno = EIO; return -1; }
                countdown--;
            }
            return real(fd, buf, count, offset);
        }
        """#

    @Test func ioErrorsWhileWritingACheckpointLeaveThePreviousOne() throws {
        try Sandbox.with { sandbox in
            guard let library = try Interposer.build(Self.failingWrites, named: "failing", in: sandbox) else {
                print("faults: I/O errors not tested (no C compiler to build the write interposer)")
                return
            }
            let file = try sandbox.npy("acts.npy", "np.random.default_rng(9).standard_normal((32, 20000)).astype(np.float32)")
            try sandbox.ok(["create", "r", "--features", "20000", "--chunk-features", "2000"])
            try sandbox.ok(["ingest", "r", "--step", "1", file])
            var injected = 0, step: Int64 = 1
            for failAt in [0, 1, 2, 4, 8, 16] {
                let result = try Subprocess.run(
                    executable: try DensityBinary.url(), arguments: ["ingest", "r", "--step", String(step + 1), file, "--db", sandbox.db],
                    cwd: sandbox.work, environment: ["LD_PRELOAD": library.path, "DENSITY_TEST_FAIL_WAL_WRITE": String(failAt)],
                    io: sandbox.root.appendingPathComponent("io"))
                if result.status == 0 {
                    step += 1  // the checkpoint needed fewer WAL writes than that
                    continue
                }
                injected += 1
                expectFailure(result, mentioning: ["I/O error", "rolled the transaction back", "density verify"])
                #expect(try RawStore.integrityCheck(sandbox.db) == ["ok"])
                #expect(try sandbox.ok(["resume", "r"]) == "\(step)\n", "after an I/O error at WAL write \(failAt)")
                #expect(try sandbox.db(["verify"]).status == 0)
                // The disk is well again: the same command succeeds.
                try sandbox.ok(["ingest", "r", "--step", String(step + 1), file])
                step += 1
            }
            print("faults: I/O error (EIO) injected \(injected) times into a checkpoint's WAL writes, each refused cleanly, previous checkpoint intact, retry succeeded")
            #expect(injected >= 3)
        }
    }

    @Test func writeProtectedStoreOrFolderIsRefusedUntilFixed() throws {
        try Sandbox.with { sandbox in
            if Unprivileged.isRoot && Unprivileged.setpriv == nil {
                print("faults: read-only store not tested (as root, it needs setpriv to drop privileges)")
                return
            }
            let file = try sandbox.npy("acts.npy", "np.random.default_rng(6).standard_normal((16, 40)).astype(np.float32)")
            try sandbox.ok(["create", "r", "--features", "40"])
            try sandbox.ok(["ingest", "r", "--step", "1", file])
            try Unprivileged.handOver(sandbox.work)
            var faults = 0

            // 1. The store file is write-protected; a query in between leaves SQLite's sidecars.
            #expect(chmod(sandbox.db, 0o444) == 0)
            let refused = try Unprivileged.density(sandbox, ["ingest", "r", "--step", "2", file, "--db", sandbox.db])
            faults += 1
            expectFailure(refused, mentioning: ["cannot be written", "read-only", "nothing of this command was stored", "chmod"])
            #expect(try latestStep(sandbox, "r", db: sandbox.db) == 1)
            #expect(chmod(sandbox.db, 0o644) == 0)
            let retry = try Unprivileged.density(sandbox, ["ingest", "r", "--step", "2", file, "--db", sandbox.db])
            #expect(retry.status == 0, "\(retry)")
            #expect(try latestStep(sandbox, "r", db: sandbox.db) == 2)

            // 2. The folder is write-protected: SQLite cannot create its -wal and -shm files.
            // (A read-only query leaves them behind; with no connection open they are removable.)
            let wal = (try? FileManager.default.attributesOfItem(atPath: sandbox.db + "-wal"))?[.size] as? NSNumber
            try #require((wal?.intValue ?? 0) == 0, "the WAL holds \(wal ?? 0) bytes")
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sandbox.db + suffix) }
            #expect(chmod(sandbox.work.path, 0o555) == 0)
            // A query cannot open a WAL store without its -shm file either, and says why.
            let query = try Unprivileged.density(sandbox, ["show", "r", "--db", sandbox.db])
            expectFailure(query, mentioning: ["cannot read", "-shm", "folder", "Nothing was changed"])
            let refusedInFolder = try Unprivileged.density(sandbox, ["ingest", "r", "--step", "3", file, "--db", sandbox.db])
            faults += 1
            expectFailure(refusedInFolder, mentioning: ["nothing of this command was stored"])
            #expect(refusedInFolder.stderr.contains("folder"), "\(refusedInFolder)")
            #expect(chmod(sandbox.work.path, 0o755) == 0)
            #expect(try latestStep(sandbox, "r", db: sandbox.db) == 2)
            let retryInFolder = try Unprivileged.density(sandbox, ["ingest", "r", "--step", "3", file, "--db", sandbox.db])
            #expect(retryInFolder.status == 0, "\(retryInFolder)")
            #expect(try latestStep(sandbox, "r", db: sandbox.db) == 3)
            #expect(try RawStore.integrityCheck(sandbox.db) == ["ok"])
            print("faults: write-protected store file and folder injected \(faults) times, each refused cleanly, previous checkpoint intact, retry succeeded")
        }
    }
}
