import ArgumentParser
import DensityFormats
import DensityMetric
import DensityStore
import Foundation
import DensityViews

/// `density history`: the counts of some features, or of every one, at every checkpoint, in one
/// file, for numpy and the Python read API.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Write the exact counts of some features (or all) at every checkpoint: int64 [checkpoints, k].",
        discussion: """
            Read in one transaction; only the stored chunks that hold the features asked for are \
            decoded. With --features all, every (component, feature) pair is written, one checkpoint \
            at a time, so memory stays one state whatever the run's length.
              density history demo --features 0,5,9 --out history.safetensors
              density history demo --features all --out all.safetensors
              density history multi --features 0:7,1:7 --format json
            safetensors (default): tensors "step" and "vectors" (I64 [checkpoints]), "component" and \
            "feature" (I64 [k]) and "counts" (I64 [checkpoints, k]); __metadata__ holds the run. \
            "counts" comes last, so numpy can map it in place.
            json: {"run","component":[...],"feature":[...],"step":[...],"vectors":[...],"counts":[[...],...]} \
            (one row per checkpoint).
            A run with components takes C:F in --features (feature F of component C); F alone is \
            component 0.
            """
    )

    /// The file formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case safetensors, json
    }

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @Option(help: ArgumentHelp("The features, comma-separated (F, or C:F with components), or all.", valueName: "f1,f2,...|all"))
    var features: String

    @Option(help: "safetensors or json. Default: safetensors, or json when --out ends in .json or is left out.")
    var format: Format?

    @Option(help: ArgumentHelp("The file to write, or - for stdout. Default: stdout (json).", valueName: "file"))
    var out: String?

    @Flag(help: "Replace --out if it exists.")
    var force = false

    /// --format, else json for no --out or a .json file, else safetensors.
    var resolvedFormat: Format {
        if let format { return format }
        guard let out else { return .json }
        return out.lowercased().hasSuffix(".json") ? .json : .safetensors
    }

    /// The pairs --features names, or `nil` for all.
    var requested: [ReportData.FeatureRef]? { features == "all" ? nil : ReportData.FeatureRef.list(features) }

    func validate() throws {
        if features != "all", ReportData.FeatureRef.list(features) == nil {
            throw ValidationError("--features takes 0-based feature indexes separated by commas, e.g. 3,17 (C:F with components), or all; got '\(features)'")
        }
        if let out, out.isEmpty { throw ValidationError("--out must name a file, or - for stdout") }
    }

    func run() throws {
        let format = resolvedFormat
        let target = try ExportTarget(path: out ?? "-", force: force, binary: format == .safetensors)
        var rows = 0
        var bytes = 0
        var columns = 0
        // One snapshot answers the whole question: the run, its checkpoints and their counts.
        let located = try store.openRun(runName)
        try located.store.read { snapshot in
            let runInfo = try snapshot.run(named: located.run)
            let pairs: [FeatureHistory.Pair]
            if let requested {
                pairs = try requested.map { ref in
                    if let component = ref.component, runInfo.components == nil {
                        throw CLIError("run '\(runName)' has no components, so --features takes F, not \(component):\(ref.feature)")
                    }
                    return FeatureHistory.Pair(component: ref.component ?? 0, feature: ref.feature)
                }
            } else {
                pairs = (0..<(runInfo.components ?? 1)).flatMap { c in (0..<runInfo.features).map { FeatureHistory.Pair(component: c, feature: $0) } }
            }
            columns = pairs.count
            if requested != nil {
                let history = try snapshot.featureHistory(run: located.run, pairs: pairs)
                if history.checkpoints.isEmpty { throw try snapshot.noCheckpointYet(run: located.run) }
                rows = history.checkpoints.count
                bytes = try target.write { file in
                    try writeHead(format, pairs: pairs, checkpoints: history.checkpoints, to: file)
                    try history.counts.withUnsafeBufferPointer { counts in
                        for row in history.checkpoints.indices {
                            try writeRow(format, UnsafeBufferPointer(rebasing: counts[(row * pairs.count)..<((row + 1) * pairs.count)]),
                                         first: row == 0, to: file)
                        }
                    }
                    if format == .json { try file.append("]}\n") }
                }
            } else {
                // Every pair: one state at a time, from the same snapshot as the header's checkpoints.
                let checkpoints = try snapshot.checkpoints(run: located.run)
                if checkpoints.isEmpty { throw try snapshot.noCheckpointYet(run: located.run) }
                rows = checkpoints.count
                bytes = try target.write { file in
                    try writeHead(format, pairs: pairs, checkpoints: checkpoints, to: file)
                    var first = true
                    try snapshot.forEachState(run: located.run) { _, state in
                        try state.counts.withUnsafeBufferPointer { try writeRow(format, $0, first: first, to: file) }
                        first = false
                    }
                    if format == .json { try file.append("]}\n") }
                }
            }
        }
        Console.message("run '\(runName)': counts of \(columns) feature\(columns == 1 ? "" : "s") at \(rows) checkpoints -> \(target.name) (\(format.rawValue), \(bytes) bytes\(target.note))")
    }

    /// Writes everything before the counts: in safetensors the header and the small tensors (the
    /// header entry of "counts", which is streamed, is written by hand), in json the keys up to
    /// `"counts":[`.
    func writeHead(_ format: Format, pairs: [FeatureHistory.Pair], checkpoints: [Checkpoint], to file: ExportFile) throws {
        switch format {
        case .safetensors:
            var writer = SafetensorsWriter(metadata: ["run": runName])
            try writer.add("step", shape: [checkpoints.count], values: .int64(checkpoints.map(\.step)))
            try writer.add("vectors", shape: [checkpoints.count], values: .int64(checkpoints.map(\.vectors)))
            try writer.add("component", shape: [pairs.count], values: .int64(pairs.map { Int64($0.component) }))
            try writer.add("feature", shape: [pairs.count], values: .int64(pairs.map { Int64($0.feature) }))
            let begin = writer.tensors.last?.dataOffsets.upperBound ?? 0
            var json = writer.headerJSON
            json.removeLast()
            json += ",\"counts\":{\"dtype\":\"I64\",\"shape\":[\(checkpoints.count),\(pairs.count)],\"data_offsets\":[\(begin),\(begin + checkpoints.count * pairs.count * 8)]}}"
            var header = Array(json.utf8)
            header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
            let length = UInt64(header.count)
            header = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + header
            try header.withUnsafeBytes { try file.append($0) }
            for tensor in writer.tensors {
                try tensor.values.forEachLittleEndianChunk(maxBytes: 1 << 20) { try file.append($0) }
            }
        case .json:
            var head = JSONValue.object([
                ("run", .string(runName)),
                ("component", .array(pairs.map { .int(Int64($0.component)) })),
                ("feature", .array(pairs.map { .int(Int64($0.feature)) })),
                ("step", .array(checkpoints.map { .int($0.step) })),
                ("vectors", .array(checkpoints.map { .int($0.vectors) })),
            ]).text
            head.removeLast()  // the closing brace; the counts follow
            try file.append(head + ",\"counts\":[")
        }
    }

    /// Writes one checkpoint's counts: raw little-endian int64, or a JSON array (after a comma
    /// unless it is the first).
    func writeRow(_ format: Format, _ counts: UnsafeBufferPointer<Int64>, first: Bool, to file: ExportFile) throws {
        switch format {
        case .safetensors:
            try file.append(UnsafeRawBufferPointer(counts))
        case .json:
            try file.append((first ? "[" : ",[") + counts.map(String.init).joined(separator: ",") + "]")
        }
    }
}
