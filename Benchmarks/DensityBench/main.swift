// density-bench: what FeatureDensity costs, measured in one run on this machine.
//
//     swift run -c release density-bench            all sections, full sizes
//     swift run -c release density-bench --only update
//     swift run density-bench --smoke               tiny sizes, seconds even in debug (CI)
//
// Each section is one function `run<Name>Section(_ options: BenchOptions)` in its own file
// (`<Name>Section.swift`), listed in `sections` below. Time with ``measure(repeats:_:)`` (one
// warm-up, then the median of `ContinuousClock` timings) and print the checksum it returns, so
// the optimizer keeps the work.

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// One part of the benchmark: a question about the cost of FeatureDensity, answered by a table.
struct Section {
    /// The name `--only` selects it by.
    let name: String
    /// What it measures, for `--help`.
    let summary: String
    /// Runs it and prints its table.
    let run: (BenchOptions) -> Void
}

let sections: [Section] = [
    Section(name: "update",
            summary: "FeatureDensityMetric.update throughput vs. a plain read of the same buffer",
            run: runUpdateSection),
    Section(name: "checkpoint",
            summary: "one durable checkpoint of a 1M-feature run vs writing its raw int64 counts with fsync",
            run: runCheckpointSection),
    Section(name: "record",
            summary: "density record fed frames through a pipe at 1M and 16M features vs writing them with fsync; peak RSS",
            run: runRecordSection),
    Section(name: "bytes",
            summary: "bytes per feature per checkpoint on disk, checkpointing every step and every 100 steps",
            run: runBytesSection),
    Section(name: "trend",
            summary: "one feature's trend over 10,000 checkpoints of a 1M-feature run vs decoding them all",
            run: runTrendSection),
    Section(name: "diff",
            summary: "a window diff near the end of a 10,000-checkpoint run vs one near its start",
            run: runDiffSection),
    Section(name: "dead",
            summary: "dead features with last-fired steps, and a report's reads, vs a full-run window diff of the same run",
            run: runDeadSection),
    Section(name: "mirror",
            summary: "density record at 1M features without and with --mirror every 60 s (scaled: 60 states a snapshot)",
            run: runMirrorSection),
    Section(name: "sweep",
            summary: "density runs over 64 runs x 1,000 checkpoints of 16,384 features in 8 stores vs one store",
            run: runSweepSection),
]

func printUsage(_ sections: [Section]) {
    print("""
        usage: density-bench [--smoke] [--only NAME] [--repeats N] [--work-dir D] [--shape BxF ...] [--features N ...] [--density PATH] [--mirror-dir D] [--help]

          --smoke        tiny sizes and 3 repeats: finishes in seconds, even in a debug build
          --only NAME    run one section
          --repeats N    timed repeats per measurement (after one warm-up)
          --work-dir D   keep the stores in D (else a temporary folder, removed at exit); a
                         history fixture of the same size already in D is reused
          --shape BxF    a [batch, features] shape for the update section instead of its own
                         (repeatable), e.g. --shape 1024x4096
          --features N   a width for the record section instead of its own (repeatable)
          --density PATH the `density` binary the record section runs (default: the one beside
                         this benchmark), e.g. another build's, to compare the two
          --mirror-dir D the folder the mirror section mirrors to (default: beside its stores,
                         the same disk); another file system, as a cluster's shared folder is
          --help         this text

        sections:
        """)
    let width = sections.map(\.name.count).max() ?? 0
    for section in sections {
        print("  " + section.name + String(repeating: " ", count: width - section.name.count + 2) + section.summary)
    }
}

let options: BenchOptions
do {
    options = try BenchOptions(parsing: CommandLine.arguments.dropFirst())
} catch {
    print("density-bench: \(error)\n")
    printUsage(sections)
    exit(64)
}
if options.help {
    printUsage(sections)
    exit(0)
}
if let directory = options.workDirectory {
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    benchFolderOverride.withLock { $0 = URL(fileURLWithPath: directory) }
}
let selected = sections.filter { options.only == nil || $0.name == options.only }
if selected.isEmpty {
    print("density-bench: no section named '\(options.only ?? "")'; sections: "
          + sections.map(\.name).joined(separator: ", "))
    exit(64)
}

#if DEBUG
let build = "debug (-Onone): numbers are not representative; use swift run -c release density-bench"
#else
let build = "release"
#endif
print("density-bench: build \(build); \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) online CPUs\(options.smoke ? "; smoke sizes" : "")")
for section in selected {
    print("\n== \(section.name): \(section.summary)\n")
    section.run(options)
}
