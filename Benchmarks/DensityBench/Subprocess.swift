// A child process of the benchmark: `density` started beside the bench binary, its stdin a pipe
// the bench writes, its wall time, CPU time and peak RSS read back when it is reaped.

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// A `density` process, started with `posix_spawn` and reaped with `wait4` for its resource usage.
final class Subprocess {
    /// What a finished child used.
    struct Usage {
        /// The exit status (128 + signal when it was killed).
        let status: Int32
        /// From start to exit.
        let wall: Duration
        /// User + system CPU time of the child (all its threads).
        let cpu: Duration
        /// The child's peak resident set size, in bytes: the last `VmHWM` read from
        /// `/proc/<pid>/status`, polled every 2 ms while it runs. (Not `ru_maxrss`: a child started
        /// by `posix_spawn` shares the benchmark's memory until it execs, and Linux carries that
        /// high-water mark over the exec.)
        let peakRSS: Int
        /// What it wrote to stderr (its messages).
        let stderr: String
    }

    /// The `density` binary next to this benchmark's binary, when it was built.
    static var densityBinary: URL? {
        let bench = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let url = bench.deletingLastPathComponent().appendingPathComponent("density")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }

    private let pid: pid_t
    private let started: ContinuousClock.Instant
    private let errPath: String
    /// The largest `VmHWM` seen, in bytes, and whether the poller should stop.
    private let watch = Watch()
    private let poller = DispatchGroup()
    /// The write end of the child's stdin, when it reads one; closed by ``finishInput()``.
    private var input: Int32 = -1

    /// Starts `program arguments`; with `pipeInput` its stdin is a pipe written by ``write(_:)``,
    /// else `/dev/null`. Stdout goes to `/dev/null`, stderr to a file read back by ``wait()``.
    init(_ program: URL, _ arguments: [String], pipeInput: Bool) {
        errPath = benchFolder.appendingPathComponent("child-\(UUID().uuidString).err").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var fds: [Int32] = [-1, -1]
        if pipeInput {
            precondition(pipe(&fds) == 0, "pipe failed")
            posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
            posix_spawn_file_actions_addclose(&actions, fds[0])
            posix_spawn_file_actions_addclose(&actions, fds[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var environment = ProcessInfo.processInfo.environment
        environment["DENSITY_DB"] = nil
        let argv = ([program.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        started = ContinuousClock.now
        let code = posix_spawn(&pid, program.path, &actions, nil, argv, envp)
        precondition(code == 0, "cannot start \(program.path): \(String(cString: strerror(code)))")
        self.pid = pid
        if pipeInput {
            close(fds[0])
            input = fds[1]
        }
        let statusPath = "/proc/\(pid)/status"
        DispatchQueue.global().async(group: poller) { [watch] in
            while !watch.state.withLock({ $0.done }) {
                if let peak = Self.highWaterMark(statusPath) { watch.state.withLock { $0.peak = max($0.peak, peak) } }
                usleep(2_000)
            }
        }
    }

    /// What the poller shares with ``wait()``.
    private final class Watch: Sendable {
        let state = Mutex((peak: 0, done: false))
    }

    /// `VmHWM` from a `/proc/<pid>/status` file, in bytes; `nil` once the process has exited.
    private static func highWaterMark(_ path: String) -> Int? {
        // /proc files report a size of 0: read until the end rather than by their size.
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        else { return nil }
        return kib * 1024
    }

    /// Writes all of `bytes` to the child's stdin (blocking while the pipe is full).
    func write(_ bytes: UnsafeRawBufferPointer) { writeFully(input, bytes) }

    /// Closes the child's stdin: the end of its input.
    func finishInput() {
        if input >= 0 { close(input) }
        input = -1
    }

    /// Closes its stdin, waits for its exit and returns what it used.
    func wait() -> Usage {
        finishInput()
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 { precondition(errno == EINTR, "wait4 failed") }
        let wall = ContinuousClock.now - started
        watch.state.withLock { $0.done = true }
        poller.wait()
        func duration(_ time: timeval) -> Duration { .seconds(time.tv_sec) + .microseconds(time.tv_usec) }
        let stderr = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data(), as: UTF8.self)
        try? FileManager.default.removeItem(atPath: errPath)
        let exited = status & 0x7F == 0
        return Usage(status: exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), wall: wall,
                     cpu: duration(usage.ru_utime) + duration(usage.ru_stime), peakRSS: watch.state.withLock { $0.peak },
                     stderr: stderr)
    }

    /// Runs `density arguments` to its end with no input; stops the benchmark if it fails.
    static func run(_ program: URL, _ arguments: [String]) -> Usage {
        let usage = Subprocess(program, arguments, pipeInput: false).wait()
        precondition(usage.status == 0, "density \(arguments.joined(separator: " ")) failed (\(usage.status)): \(usage.stderr)")
        return usage
    }
}
