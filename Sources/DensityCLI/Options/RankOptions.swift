import ArgumentParser

/// `--rank R --world-size W`: the writer is one rank of a distributed job.
struct RankOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "This process's rank (0-based) when each rank of a distributed job writes its own partial state; with --world-size.",
        valueName: "r"))
    var rank: Int?

    @Option(help: ArgumentHelp(
        "The number of ranks. A step is visible to queries once all ranks wrote it: their states are summed.",
        valueName: "w"))
    var worldSize: Int?

    func validate() throws {
        switch (rank, worldSize) {
        case (nil, nil): return
        case (_?, nil): throw ValidationError("--rank needs --world-size W (the number of ranks)")
        case (nil, _?): throw ValidationError("--world-size needs --rank R (this process's rank, 0 to W-1)")
        case let (rank?, worldSize?):
            guard worldSize >= 1 else { throw ValidationError("--world-size must be >= 1, got \(worldSize)") }
            guard (0..<worldSize).contains(rank) else {
                throw ValidationError("--rank must be 0 to \(worldSize - 1) for --world-size \(worldSize), got \(rank)")
            }
        }
    }

    /// The rank and world size, when given.
    var value: (rank: Int, worldSize: Int)? {
        guard let rank, let worldSize else { return nil }
        return (rank, worldSize)
    }
}
