import Foundation
import Testing

/// `--out` and `--svg` on every kind of path: a regular file is replaced atomically (only with
/// --force); a FIFO, a character device or a link into /proc (such as /dev/stdout) is written
/// through and stays what it was; a symbolic link to a regular file keeps pointing where it did;
/// a socket is refused; `-` is stdout, and binary formats go there only when it is not a terminal.
@Suite struct OutputTargetTests {
    /// lstat's file type of `path`, or nil when nothing is there.
    static func type(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    /// Runs `arguments` (the built binary, `--db` appended) with stdout on a pseudo-terminal;
    /// returns the exit status and stderr, as Python's pty module sees them.
    static func onTerminal(_ box: Sandbox, _ arguments: [String]) throws -> (status: Int, stderr: String) {
        let script = """
            import json, os, pty, subprocess, sys
            master, slave = pty.openpty()
            r = subprocess.run(sys.argv[1:], stdout=slave, stderr=subprocess.PIPE)
            print(json.dumps([r.returncode, r.stderr.decode()]))
            """
        let data = try Numpy.run(script, [try DensityBinary.url().path] + arguments + ["--db", box.db], in: box)
        let decoded = try JSONSerialization.jsonObject(with: data) as? [Any]
        return ((decoded?[0] as? Int) ?? -999, (decoded?[1] as? String) ?? "")
    }

    @Test func outIsStdoutForADashAndJSONOrCSVWithoutOut() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 6, steps: [10, 20])
            let toFile = box.path("w.csv")
            try box.ok(["export", "r", "--out", toFile])
            let expected = try String(contentsOfFile: toFile, encoding: .utf8)
            let listing = box.listing()
            #expect(try box.ok(["export", "r", "--format", "csv", "--out", "-"]) == expected)
            #expect(try box.ok(["export", "r", "--format", "csv"]) == expected, "csv without --out prints to stdout")
            let json = try box.ok(["export", "r", "--format", "json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect((object["values"] as? [Any])?.count == 6)
            #expect(box.listing() == listing, "no file named '-' or other file appears: \(box.listing())")
            // Binary formats: to a pipe or file with `--out -`, never to a terminal.
            let npy = try box.db(["export", "r", "--format", "npy", "--out", "-"])
            #expect(npy.status == 0 && !npy.stdout.isEmpty, "\(npy)")
            try box.fails(["export", "r", "--format", "npy"], mentioning: ["--out"])
            let terminal = try Self.onTerminal(box, ["export", "r", "--format", "npy", "--out", "-"])
            #expect(terminal.status != 0 && terminal.stderr.contains("terminal") && terminal.stderr.contains("--out"), "\(terminal)")
            let state = try Self.onTerminal(box, ["state", "r", "--out", "-"])
            #expect(state.status != 0 && state.stderr.contains("terminal"), "\(state)")
            #expect(box.listing() == listing, "\(box.listing())")
        }
    }

    @Test func binaryToAPipeIsTheSameBytesAsTheFile() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 6, steps: [10, 20])
            try box.ok(["export", "r", "--what", "counts", "--out", box.path("c.npy")])
            let script = """
                import subprocess, sys
                r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                assert r.returncode == 0, r.stderr
                sys.stdout.write(r.stdout.hex())
                """
            let piped = try Numpy.run(script, [try DensityBinary.url().path, "export", "r", "--what", "counts", "--format", "npy",
                                               "--out", "-", "--db", box.db], in: box)
            let file = try Data(contentsOf: URL(fileURLWithPath: box.path("c.npy")))
            #expect(String(decoding: piped, as: UTF8.self) == file.map { String(format: "%02x", $0) }.joined())
        }
    }

    @Test func aFIFOAndALinkIntoProcAreWrittenThrough() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 6, steps: [10, 20])
            let expected = try box.ok(["export", "r", "--format", "csv"])
            // A FIFO with a reader: the CSV arrives through it and the FIFO stays a FIFO.
            let fifo = box.path("pipe.csv")
            #expect(mkfifo(fifo, 0o600) == 0)
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/bin/sh")
            reader.arguments = ["-c", "cat \"$0\" > \"$1\"", fifo, box.root.appendingPathComponent("got.csv").path]
            try reader.run()
            let exported = try box.db(["export", "r", "--out", fifo])
            // Should the export not open the FIFO, opening it here lets the reader end.
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            reader.waitUntilExit()
            #expect(exported.status == 0, "\(exported)")
            #expect(Self.type(fifo) == S_IFIFO, "the FIFO was replaced")
            #expect(try String(contentsOfFile: box.root.appendingPathComponent("got.csv").path, encoding: .utf8) == expected)
            // A link into /proc, as /dev/stdout is: written through to this process's stdout.
            let link = box.path("mystdout")
            #expect(symlink("/proc/self/fd/1", link) == 0)
            let through = try box.db(["export", "r", "--format", "csv", "--out", link, "--force"])
            #expect(through.status == 0 && through.stdout == expected, "\(through)")
            #expect(Self.type(link) == S_IFLNK, "the link was replaced by a file")
            // Through this process's own descriptor: appended to a file stdout appends to, not
            // written over its start.
            let appended = box.root.appendingPathComponent("appended.csv").path
            try Data("first line\n".utf8).write(to: URL(fileURLWithPath: appended))
            let shell = try Subprocess.run(
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", "exec \"$0\" \"$@\" >> \"$DENSITY_APPEND\"", try DensityBinary.url().path,
                            "export", "r", "--format", "csv", "--out", link, "--db", box.db],
                cwd: box.work, environment: ["DENSITY_APPEND": appended], io: box.root.appendingPathComponent("io"))
            #expect(shell.status == 0, "\(shell)")
            #expect(try String(contentsOfFile: appended, encoding: .utf8) == "first line\n" + expected)
            // A character device: written through, never replaced.
            #expect(try box.db(["export", "r", "--format", "csv", "--out", "/dev/null"]).status == 0)
            #expect(Self.type("/dev/null") == S_IFCHR)
        }
    }

    @Test func aLinkToAFileStaysALinkAndASocketIsRefused() throws {
        try Sandbox.with { box in
            try box.recordRun("r", features: 6, steps: [10, 20])
            let expected = try box.ok(["export", "r", "--format", "csv"])
            try box.write(Data("old\n".utf8), to: "target.csv")
            let link = box.path("link.csv")
            #expect(symlink(box.path("target.csv"), link) == 0)
            try box.fails(["export", "r", "--out", link], mentioning: ["link.csv", "--force"])
            try box.ok(["export", "r", "--out", link, "--force"])
            #expect(Self.type(link) == S_IFLNK, "the link was replaced by a file")
            #expect(try String(contentsOfFile: box.path("target.csv"), encoding: .utf8) == expected)
            // A dangling link is refused, and left as it is.
            let dangling = box.path("dangling.csv")
            #expect(symlink(box.path("nowhere.csv"), dangling) == 0)
            try box.fails(["export", "r", "--out", dangling, "--force"], mentioning: ["dangling.csv", "link", "nowhere.csv"])
            #expect(Self.type(dangling) == S_IFLNK && Self.type(box.path("nowhere.csv")) == nil)
            // A socket: nothing can be written into it as a file.
            let socketPath = box.path("s.csv")
            _ = try Numpy.run("import socket, sys\nsocket.socket(socket.AF_UNIX).bind(sys.argv[1])\n", [socketPath], in: box)
            try box.fails(["export", "r", "--out", socketPath, "--force"], mentioning: ["s.csv", "socket"])
            #expect(Self.type(socketPath) == S_IFSOCK)
            // --svg follows the same rules.
            let svgLink = box.path("h.svg")
            try box.write(Data("old".utf8), to: "h-target.svg")
            #expect(symlink(box.path("h-target.svg"), svgLink) == 0)
            try box.fails(["histogram", "r", "--svg", socketPath, "--force"], mentioning: ["socket"])
            try box.ok(["histogram", "r", "--svg", svgLink, "--force"])
            #expect(Self.type(svgLink) == S_IFLNK)
            #expect(try String(contentsOfFile: box.path("h-target.svg"), encoding: .utf8).contains("<svg"))
        }
    }
}
