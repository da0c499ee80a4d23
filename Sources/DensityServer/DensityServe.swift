import ArgumentParser
import DensityStore
import DensityViews
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore

/// `density-serve`: a local, read-only web UI and JSON API over a store. `density serve` runs it.
@main
struct DensityServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "density-serve",
        abstract: "A local read-only web page and JSON API over density stores, updated live.",
        discussion: """
            Binds 127.0.0.1 by default: from another machine, forward the port over SSH
            (ssh -L 8765:localhost:8765 gpu-box) rather than binding another address.
            Answers only requests whose Host is localhost, 127.0.0.1, [::1], the bound address or
            an --allow-host name (421 otherwise), which keeps other sites' pages out (DNS rebinding).
            JSON: /api/runs, /api/runs/RUN/{show,diff,trend,dead,histogram,summaries}, the same documents as
            `density RUN ... --format json` with the same arguments; /api/stores.
            Several stores (--db repeated, or a quoted glob such as 'mirrors/*.sqlite') are served
            together, a run name two stores hold shown as name@store; a store that cannot be read is
            skipped and named on the page.
            """
    )

    /// The most connections open at once; more wait in the kernel's queue until one closes.
    static let maxConnections = 256
    /// The most header bytes a request may send.
    static let maxHeaderBytes = 16 * 1024

    @Option(help: "The TCP port.")
    var port: Int = 8765

    @Option(help: "The address to bind; anything but a loopback address exposes the store to the network.")
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp("A store file, or a quoted glob ('mirrors/*.sqlite'); repeatable, every store is served. Default: $DENSITY_DB if set, else ./density.sqlite.", valueName: "path"))
    var db: [String] = []

    @Option(help: ArgumentHelp("Also answer requests addressed to NAME (a host name or address the clients use); repeatable.",
                               valueName: "name"))
    var allowHost: [String] = []

    @Option(help: ArgumentHelp("Close a connection that sends no complete request for this many seconds (1 to 30).", valueName: "seconds"))
    var idleTimeout: Int = 20

    @Option(help: ArgumentHelp("The most store reads at once, each on a read-only handle kept open and reused (1 to 64).", valueName: "n"))
    var readers: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535, got \(port)") }
        guard (1...30).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1 to 30 seconds, got \(idleTimeout)") }
        guard (1...64).contains(readers) else { throw ValidationError("--readers must be 1 to 64, got \(readers)") }
        for name in allowHost where name.isEmpty || name.contains("/") || HostAllowList<ServeContext>.name(ofAuthority: name) == nil {
            throw ValidationError("--allow-host takes a host name or address such as gpu-box or 10.0.0.5, got '\(name)'")
        }
    }

    func run() async throws {
        let given = db.isEmpty ? [ProcessInfo.processInfo.environment["DENSITY_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "density.sqlite"] : db
        let paths = try StoreNames.expand(given) { pattern in
            throw ValidationError("no store matches --db '\(pattern)'; check the folder and the pattern (e.g. --db 'mirrors/*.sqlite')")
        }
        var unreadable: [String] = []
        for path in paths {
            do {
                _ = try DensityStore(path: path, readOnly: true)
            } catch {
                // One store: refuse to start on it. Several: serve the others, and report it on the runs page.
                if paths.count == 1 { throw ValidationError("cannot serve '\(path)': \(error). Pass --db PATH (or set DENSITY_DB)") }
                FileHandle.standardError.write(Data("warning: the store '\(path)' cannot be read now (\(error)); it is skipped until it can\n".utf8))
                unreadable.append(path)
            }
        }
        if unreadable.count == paths.count {
            throw ValidationError("none of the \(paths.count) stores can be read (see the warnings above); pass --db PATH for each store")
        }
        if !["127.0.0.1", "localhost", "::1"].contains(host) {
            FileHandle.standardError.write(Data("warning: binding \(host) serves the store to every machine that can reach this address, without authentication; prefer the default 127.0.0.1 and an SSH port forward (ssh -L \(port):localhost:\(port) HOST). Clients must address it as \(host) or a name given with --allow-host\n".utf8))
        }
        let stores = ServedStores(paths: paths, readers: readers)
        let budget = ConnectionBudget(limit: Self.maxConnections)
        let feed = ChangeFeed(pools: stores.pools)
        let router = ServerRoutes.router(stores: stores, feed: feed, hosts: HostAllowList(bound: host, allowed: allowHost))
        var decoder = HTTP1Channel.Configuration.DecoderConfiguration()
        decoder.maxHeaderListSize = Self.maxHeaderBytes
        decoder.maxHeaderFieldSize = Self.maxHeaderBytes
        let http = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionCloser()],
                                              idleTimeout: .seconds(Int64(idleTimeout)), httpDecoderConfiguration: decoder)
        let app = Application(
            router: router,
            server: .http1(configuration: http),
            configuration: .init(address: .hostname(host, port: port), serverName: "density-serve",
                                 availableConnectionsDelegate: budget),
            onServerRunning: { [host, port] channel in
                let bound = channel.localAddress?.port ?? port
                let served = paths.count == 1 ? "'\(paths[0])'" : "\(paths.count) stores"
                FileHandle.standardOutput.write(Data("density-serve: serving \(served) read-only at http://\(host):\(bound)/ (Ctrl-C to stop)\n".utf8))
            }
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await feed.watch() }
            group.addTask { await budget.trimWhenIdle() }
            group.addTask { try await app.runService() }
            try await group.next()  // the server stopped (a signal): stop the watcher and the trimmer too
            group.cancelAll()
        }
    }
}
