// Test support for the trust suites (kills, faults, concurrency, security): `density` processes
// started in the background and killed, the store checked through a raw SQLite connection, and
// commands run as an unprivileged user when the tests run as root (root ignores file permissions).
import DensityMetric
import DensityStore
import Foundation
import Testing

/// A `density` process running in the background, to be waited for or killed.
final class BackgroundProcess {
    let arguments: [String]
    private let process = Process()
    private let outURL: URL
    private let errURL: URL
    private let handles: [FileHandle]

    /// Starts `executable` (default: `density`) with `arguments` in `sandbox.work`, reading `stdin`
    /// (default: nothing).
    init(_ sandbox: Sandbox, _ arguments: [String], executable: URL? = nil, stdin: URL? = nil) throws {
        self.arguments = arguments
        let id = UUID().uuidString
        let io = sandbox.root.appendingPathComponent("io")
        outURL = io.appendingPathComponent("\(id).out")
        errURL = io.appendingPathComponent("\(id).err")
        for url in [outURL, errURL] {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        handles = [out, err]
        process.executableURL = try executable ?? DensityBinary.url()
        process.arguments = arguments
        process.currentDirectoryURL = sandbox.work
        var environment = ProcessInfo.processInfo.environment
        environment["DENSITY_DB"] = nil
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = try stdin.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
        try process.run()
    }

    /// What it has written to stderr so far.
    var stderrSoFar: String { String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        for handle in handles { try? handle.close() }
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }

    /// The process id.
    var pid: Int32 { process.processIdentifier }

    /// What it has written to stdout so far.
    var stdoutSoFar: String { String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self) }

    /// Whether it is still running.
    var isRunning: Bool { process.isRunning }

    /// Sends SIGKILL if it still runs; returns whether it was still running (then it is killed).
    @discardableResult
    func killNow() -> Bool {
        guard process.isRunning else { return false }
        return kill(process.processIdentifier, SIGKILL) == 0
    }

    /// Waits for the end and returns what it printed.
    func wait() throws -> CommandResult {
        process.waitUntilExit()
        return CommandResult(
            arguments: arguments, status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Whether it ended by a signal (SIGKILL) rather than exiting.
    var wasKilled: Bool { process.terminationReason == .uncaughtSignal }
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
