import ArgumentParser
import Foundation

/// `density serve`: runs `density-serve`, the local web UI, installed beside `density` (or on
/// PATH). The HTTP server is a separate product so that building `density` never compiles it.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "A local, read-only web page over the store that updates live (runs density-serve).",
        discussion: """
            Example:
              density serve --db runs.sqlite          # http://127.0.0.1:8765/
              density serve --db 'mirrors/*.sqlite'   # every store: the sweep table, overlays
            Binds 127.0.0.1 by default; from your laptop, forward the port over SSH:
              ssh -L 8765:localhost:8765 gpu-box      # then open http://localhost:8765/
            It answers only requests addressed to localhost, 127.0.0.1, [::1] or the bound address
            (a page on another site gets 421); --allow-host NAME adds a name on purpose.
            The JSON API mirrors the CLI: /api/runs, /api/runs/RUN/show?step=S, /diff?from=A&to=B,
            /trend?feature=F, /dead?window=A:B, /histogram?step=S give what --format json prints.
            density-serve is its own executable: `swift build --product density-serve` builds it
            beside density, and the Python wheel ships both.
            """
    )

    /// The server's executable name.
    static let server = "density-serve"

    @Option(help: "The TCP port.")
    var port: Int = 8765

    @Option(help: "The address to bind; anything but loopback exposes the store to the network (a warning is printed).")
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp("Also answer requests addressed to NAME (a host name or address the clients use); repeatable.",
                               valueName: "name"))
    var allowHost: [String] = []

    @Option(help: ArgumentHelp("Close a connection that sends no complete request for this many seconds (1 to 30; default 20).",
                               valueName: "seconds"))
    var idleTimeout: Int?

    @Option(help: ArgumentHelp("The most store reads at once, each on a read-only handle kept open (default: the number of cores).",
                               valueName: "n"))
    var readers: Int?

    @OptionGroup var store: StoreOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535, got \(port)") }
    }

    func run() throws {
        guard let executable = Self.findServer() else {
            throw CLIError("""
                density serve needs density-serve, the web server, which is not installed beside \(Self.ownExecutable()?.path ?? "density") nor on PATH. \
                Build it with `swift build --product density-serve` (it lands beside density in .build/debug), or install the Python wheel, which ships both
                """)
        }
        // Every --db as given (a quoted glob included): the server expands and names them as `density runs` does.
        var arguments: [String] = [executable.path, "--port", String(port), "--host", host]
        for path in store.paths { arguments += ["--db", path] }
        for name in allowHost { arguments += ["--allow-host", name] }
        if let idleTimeout { arguments += ["--idle-timeout", String(idleTimeout)] }
        if let readers { arguments += ["--readers", String(readers)] }
        let argv = arguments.map { strdup($0) } + [nil]
        execv(executable.path, argv)
        throw CLIError("could not start \(executable.path): \(String(cString: strerror(errno)))")
    }

    /// This process's executable, symlinks resolved.
    static func ownExecutable() -> URL? {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        #endif
        return Bundle.main.executableURL?.resolvingSymlinksInPath()
    }

    /// `density-serve` beside this executable, else the first on PATH.
    static func findServer() -> URL? {
        var candidates: [URL] = []
        if let own = ownExecutable() { candidates.append(own.deletingLastPathComponent().appendingPathComponent(server)) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        candidates += path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent(server) }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
