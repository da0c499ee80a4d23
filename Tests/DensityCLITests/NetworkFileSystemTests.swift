import Foundation
import Testing

/// A store on a network file system (NFS, Lustre, GPFS, CIFS, ...) is refused for writing: WAL's
/// shared memory and the writer lock do not work across hosts there. Simulated with an interposer
/// of `statfs` that reports the file-system type of `DENSITY_TEST_FS_MAGIC`.
@Suite struct NetworkFileSystemTests {
    static let fakeFileSystem = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdlib.h>
        #include <sys/vfs.h>
        /* struct statfs64 has the layout of struct statfs on 64-bit Linux: f_type comes first */
        static void fake(long *f_type) {
            const char *magic = getenv("DENSITY_TEST_FS_MAGIC");
            if (magic) *f_type = strtol(magic, 0, 0);
        }
        #define WRAP(name, arg, where, type) \
            int name(arg, type *buf) { \
                static int (*real)(arg, type *); \
                if (!real) real = (int (*)(arg, type *))dlsym(RTLD_NEXT, #name); \
                int result = real(where, buf); \
                if (result == 0) fake((long *)&buf->f_type); \
                return result; \
            }
        WRAP(statfs, const char *path, path, struct statfs)
        WRAP(statfs64, const char *path, path, struct statfs64)
        WRAP(fstatfs, int fd, fd, struct statfs)
        WRAP(fstatfs64, int fd, fd, struct statfs64)
        """#

    /// Runs `density` with the interposer reporting `magic` as every file system's type.
    static func density(_ sandbox: Sandbox, _ library: URL, magic: String, _ arguments: [String]) throws -> CommandResult {
        try Subprocess.run(executable: try DensityBinary.url(), arguments: arguments + ["--db", sandbox.db], cwd: sandbox.work,
                           environment: ["LD_PRELOAD": library.path, "DENSITY_TEST_FS_MAGIC": magic],
                           io: sandbox.root.appendingPathComponent("io"))
    }

    @Test func writingAStoreOnANetworkFileSystemIsRefusedWithAWayToWork() throws {
        try Sandbox.with { sandbox in
            guard let library = try Interposer.build(Self.fakeFileSystem, named: "fakefs", in: sandbox) else { return }
            let file = try sandbox.npy("acts.npy", "np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)")
            // ext4: the interposer alone changes nothing
            #expect(try Self.density(sandbox, library, magic: "0xEF53", ["create", "r", "--features", "4"]).status == 0)
            #expect(try Self.density(sandbox, library, magic: "0xEF53", ["ingest", "r", "--step", "1", file]).status == 0)
            let before = try sandbox.snapshot(["r"])
            for (name, magic) in [("NFS", "0x6969"), ("Lustre", "0x0BD00BD0"), ("GPFS", "0x47504653"), ("CIFS", "0xFF534D42")] {
                for arguments in [["ingest", "r", "--step", "2", file], ["create", "q", "--features", "4"]] {
                    let result = try Self.density(sandbox, library, magic: magic, arguments)
                    expectFailure(result, mentioning: [name, "network file system", "density merge", "local"])
                }
                // reading a store there is fine
                #expect(try Self.density(sandbox, library, magic: magic, ["show", "r"]).status == 0)
            }
            #expect(try sandbox.snapshot(["r"]) == before)
            // a new store is not created on a network file system either
            let fresh = sandbox.path("fresh.sqlite")
            let refused = try Subprocess.run(
                executable: try DensityBinary.url(), arguments: ["create", "r", "--features", "4", "--db", fresh], cwd: sandbox.work,
                environment: ["LD_PRELOAD": library.path, "DENSITY_TEST_FS_MAGIC": "0x6969"], io: sandbox.root.appendingPathComponent("io"))
            expectFailure(refused, mentioning: ["NFS"])
            #expect(!FileManager.default.fileExists(atPath: fresh))
        }
    }
}
