import ArgumentParser
import DensityStore
import Foundation
import Hummingbird

/// `density-serve`: a local, read-only web UI and JSON API over a store. `density serve` runs it.
@main
struct DensityServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "density-serve",
        abstract: "A local read-only web page and JSON API over a density store, updated live.",
        discussion: """
            Binds 127.0.0.1 by default: from another machine, forward the port over SSH
            (ssh -L 8765:localhost:8765 gpu-box) rather than binding another address.
            JSON: /api/runs, /api/runs/RUN/{show,diff,trend,dead,histogram}, the same documents as
            `density RUN ... --format json` with the same arguments.
            """
    )

    @Option(help: "The TCP port.")
    var port: Int = 8765

    @Option(help: "The address to bind; anything but a loopback address exposes the store to the network.")
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp("The store file. Default: $DENSITY_DB if set, else ./density.sqlite.", valueName: "path"))
    var db: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535, got \(port)") }
    }

    func run() async throws {
        let path = db ?? ProcessInfo.processInfo.environment["DENSITY_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "density.sqlite"
        let reader = StoreReader(path: path)
        do {
            _ = try reader.open()  // refuse to start on a missing or unreadable store
        } catch {
            throw ValidationError("cannot serve '\(path)': \(error). Pass --db PATH (or set DENSITY_DB)")
        }
        if !["127.0.0.1", "localhost", "::1"].contains(host) {
            FileHandle.standardError.write(Data("warning: binding \(host) serves the store to every machine that can reach this address, without authentication; prefer the default 127.0.0.1 and an SSH port forward (ssh -L \(port):localhost:\(port) HOST)\n".utf8))
        }
        let app = Application(
            responder: DensityResponder(reader: reader),
            configuration: .init(address: .hostname(host, port: port), serverName: "density-serve"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                FileHandle.standardOutput.write(Data("density-serve: serving '\(path)' read-only at http://\(host):\(bound)/ (Ctrl-C to stop)\n".utf8))
            }
        )
        try await app.runService()
    }
}
