// Test support for the trust suites (kills, faults, concurrency, security): `density` processes
// started in the background and killed, the store checked through a raw SQLite connection, and
// commands run as an unprivileged user when the tests run as root (root ignores file permissions).
import DensityMetric
import DensityStore
import Foundation
import Testing

/// A `density` process running in the background, to be waited for or killed.
///
/// It is started with `posix_spawn` and reaped only by ``wait()``, never behind the test's back
/// (as Foundation's `Process` does): until then its pid stays taken, even once it has exited, so
/// a SIGKILL can never reach a process or thread that was given a recycled pid.
final class BackgroundProcess {
    let arguments: [String]
    /// The process id.
    let pid: pid_t
    private let outPath: String
    private let errPath: String
    private var waitStatus: Int32?

    /// Starts `executable` (default: `density`) with `arguments`, reading `stdin` (default:
    /// nothing). It runs in the test's working directory: give it absolute paths.
    init(_ sandbox: Sandbox, _ arguments: [String], executable: URL? = nil, stdin: URL? = nil) throws {
        self.arguments = arguments
        let id = UUID().uuidString
        let io = sandbox.root.appendingPathComponent("io")
        outPath = io.appendingPathComponent("\(id).out").path
        errPath = io.appendingPathComponent("\(id).err").path
        let program = try executable ?? DensityBinary.url()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin?.path ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var environment = ProcessInfo.processInfo.environment
        environment["DENSITY_DB"] = nil
        let argv = ([program.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        // The child starts with no signal blocked and every signal at its default action, as from
        // a shell: posix_spawn would otherwise hand it the test thread's mask, and a tmux server
        // started so (SIGCHLD and SIGHUP blocked) never finishes a kill-server, leaving its panes
        // running after the test.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), every = sigset_t()
        sigemptyset(&none)
        sigfillset(&every)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &every)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let code = posix_spawn(&pid, program.path, &actions, &attributes, argv, envp)
        guard code == 0 else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EINVAL) }
        self.pid = pid
    }

    deinit {
        if waitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }

    /// What it has written to stdout so far.
    var stdoutSoFar: String { String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data(), as: UTF8.self) }

    /// What it has written to stderr so far.
    var stderrSoFar: String { String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data(), as: UTF8.self) }

    /// Sends SIGKILL unless it has been waited for; returns whether it was sent. (An exited child
    /// not yet waited for is a zombie that keeps its pid: the signal then does nothing.)
    @discardableResult
    func killNow() -> Bool {
        waitStatus == nil && kill(pid, SIGKILL) == 0
    }

    /// Waits for the end and returns what it printed; `status` is the exit status, or 128 plus
    /// the signal that ended it.
    func wait() throws -> CommandResult {
        if waitStatus == nil {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECHILD) }
            }
            waitStatus = status
        }
        let status = waitStatus!
        return CommandResult(
            arguments: arguments, status: wasKilled || status & 0x7F != 0 ? 128 + (status & 0x7F) : (status >> 8) & 0xFF,
            stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
    }

    /// Whether it ended by SIGKILL rather than exiting (after ``wait()``).
    var wasKilled: Bool { waitStatus.map { $0 & 0x7F == SIGKILL } ?? false }
}

/// Raw looks at a store file, through SQLite itself.
enum RawStore {
    /// `PRAGMA integrity_check`'s rows: `["ok"]` for an intact file.
    static func integrityCheck(_ path: String) throws -> [String] {
        let connection = try Connection(path: path, mode: .readOnly)
        return try connection.query("PRAGMA integrity_check") { $0.string(0) }
    }

    /// Runs one statement on the file with bound values.
    static func execute(_ path: String, _ sql: String, _ values: [SQLiteValue] = []) throws {
        let connection = try Connection(path: path, mode: .readWrite)
        try connection.execute(sql, values)
    }
}

/// The file-permission tests need a user whom permissions bind: root ignores them, so as root the
/// commands run as `nobody` through `setpriv` and the sandbox is handed to that user.
enum Unprivileged {
    /// The user and group the commands run as when the tests run as root.
    static let uid: UInt32 = 65_534, gid: UInt32 = 65_534

    /// Whether the tests run as root.
    static var isRoot: Bool { geteuid() == 0 }

    /// Whether `setpriv` is there to drop root.
    static var setpriv: URL? {
        ["/usr/bin/setpriv", "/bin/setpriv"].map(URL.init(fileURLWithPath:))
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Gives every file under `folder` to the unprivileged user (as root only).
    static func handOver(_ folder: URL) throws {
        guard isRoot else { return }
        for path in [folder.path] + (FileManager.default.subpaths(atPath: folder.path) ?? []).map({ folder.appendingPathComponent($0).path }) {
            guard chown(path, uid, gid) == 0 else { throw POSIXError(.EPERM) }
        }
    }

    /// Runs `density` with `arguments` in `sandbox.work`, as the unprivileged user when root.
    static func density(_ sandbox: Sandbox, _ arguments: [String]) throws -> CommandResult {
        let binary = try DensityBinary.url()
        guard isRoot else { return try sandbox.density(arguments) }
        let setpriv = try #require(setpriv, "running as root needs setpriv (util-linux) to drop privileges")
        return try Subprocess.run(
            executable: setpriv,
            arguments: ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", binary.path] + arguments,
            cwd: sandbox.work, environment: [:], io: sandbox.root.appendingPathComponent("io"))
    }
}

/// A small tmpfs mounted for one test (root only, where mounting is allowed), unmounted afterwards.
struct SmallFileSystem {
    let mountPoint: URL

    /// Mounts a tmpfs of `kilobytes` at `mountPoint`; `nil` when this machine does not allow it.
    static func mount(at mountPoint: URL, kilobytes: Int) throws -> SmallFileSystem? {
        guard Unprivileged.isRoot else { return nil }
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let result = try Subprocess.run(
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: ["mount", "-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0755", "tmpfs", mountPoint.path],
            cwd: mountPoint.deletingLastPathComponent(), environment: [:], io: mountPoint.deletingLastPathComponent())
        return result.status == 0 ? SmallFileSystem(mountPoint: mountPoint) : nil
    }

    /// Remounts with new options, such as `size=8m` or `ro`.
    func remount(_ options: String) throws {
        let result = try run(["mount", "-o", "remount,\(options)", mountPoint.path])
        try #require(result.status == 0, "remount \(options): \(result)")
    }

    /// Unmounts (lazily, so an open file cannot keep it mounted).
    func unmount() {
        _ = try? run(["umount", "-l", mountPoint.path])
    }

    private func run(_ arguments: [String]) throws -> CommandResult {
        try Subprocess.run(executable: URL(fileURLWithPath: "/usr/bin/env"), arguments: arguments,
                           cwd: mountPoint.deletingLastPathComponent(), environment: [:],
                           io: mountPoint.deletingLastPathComponent())
    }
}

/// Test settings read from the environment.
enum TrustSettings {
    /// `DENSITY_LONG_TESTS=1`: the long modes of the kill, fault and concurrency suites.
    static var long: Bool { ProcessInfo.processInfo.environment["DENSITY_LONG_TESTS"] == "1" }
}

/// A C library built at test time and loaded with `LD_PRELOAD` in front of the C library, to
/// simulate what the machine cannot produce on demand (a failing disk, a network file system).
enum Interposer {
    /// Compiles `source` into a shared library in the sandbox.
    /// - Returns: The library, or `nil` (with the compiler's complaint printed) when no C compiler works.
    static func build(_ source: String, named name: String, in sandbox: Sandbox) throws -> URL? {
        let file = sandbox.root.appendingPathComponent("\(name).c"), library = sandbox.root.appendingPathComponent("\(name).so")
        try source.write(to: file, atomically: true, encoding: .utf8)
        let compiled = try Subprocess.run(
            executable: URL(fileURLWithPath: "/usr/bin/env"),
            arguments: ["cc", "-shared", "-fPIC", "-O1", "-o", library.path, file.path, "-ldl"],
            cwd: sandbox.root, environment: [:], io: sandbox.root.appendingPathComponent("io"))
        guard compiled.status == 0 else {
            print("cannot build the interposer \(name): \(compiled.stderr.prefix(200))")
            return nil
        }
        return library
    }
}
