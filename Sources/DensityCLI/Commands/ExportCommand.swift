import ArgumentParser
import DensityFormats
import DensityMetric
import DensityStore
import Foundation
import DensityViews

/// `density export`: every (component, feature)'s density or count at a step or over a window, to
/// a file for numpy, PyTorch or a spreadsheet.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every feature's density (float64) or count (int64) to a csv, json, npy or safetensors file.",
        discussion: """
            The cumulative state at --step (default: latest), or the window (A, B] with --from A \
            --to B. Values have the run's shape: [features], or [components, features].
              density export demo --format npy --out density.npy
              density export demo --from -4 --what counts --out window.safetensors
            npy: a .npy 1.0 file, '<f8' (density) or '<i8' (counts), C order: np.load('density.npy').
            safetensors: tensor "density" (F64), or for --what counts the torchmetrics state \
            "neuron_fired_count" (I64) and "num_activation_vectors" (I64, shape []); __metadata__ \
            holds the run, the step (or from and to), the vectors and the fire threshold.
            csv: feature,count,density (component,feature,count,density with components), both \
            columns whatever --what says.
            json: {"run","step" (or "from","to"),"vectors","what","shape","values"}; values are flat, \
            row-major: np.array(values).reshape(shape).
            saelens: SAELens' sparsity.safetensors, tensor "sparsity" (F32 [features]) holding \
            log10(density + 1e-10) as SAELens writes it; a run with components needs --component:
              density export demo --from -4 --format saelens --out sparsity.safetensors
            --format may be left out when --out ends in .csv, .json, .npy or .safetensors. Without \
            --out, csv and json print to stdout; --out - writes any format to stdout (binary ones \
            only when stdout is not a terminal). A file is written beside --out under a temporary \
            name and renamed when complete, so a failed export leaves nothing; an existing file is \
            replaced only with --force. A FIFO or a device (/dev/stdout) is written into, never \
            replaced; a symbolic link keeps pointing where it did.
            """
    )

    /// The file formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, json, npy, safetensors
        /// SAELens' sparsity.safetensors: "sparsity", float32 [features], log10(density + 1e-10).
        case saelens

        /// Whether the file is binary, which a terminal must not receive.
        var isBinary: Bool { self != .csv && self != .json }
    }

    /// What the values are.
    enum Quantity: String, ExpressibleByArgument, CaseIterable {
        /// count / vectors, float64.
        case density
        /// The exact counts, int64.
        case counts
    }

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The run's name.", valueName: "run"))
    var runName: String

    @OptionGroup var selection: StateSelection

    @Option(help: "csv, json, npy, safetensors or saelens. Default: from the extension of --out.")
    var format: Format?

    @Option(help: ArgumentHelp("With --format saelens: the component to write (runs with components).", valueName: "k"))
    var component: Int?

    @Option(help: ArgumentHelp("The file to write (its folder must exist), or - for stdout. Default: stdout for csv and json.", valueName: "file"))
    var out: String?

    @Option(help: "density (float64) or counts (int64).")
    var what: Quantity = .density

    @Flag(help: "Replace --out if it exists.")
    var force = false

    /// --format, or the one --out's extension names.
    var resolvedFormat: Format? {
        if let format { return format }
        guard let out else { return nil }
        let name = ExportTarget.split(out).name
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        return Format(rawValue: name[name.index(after: dot)...].lowercased())
    }

    func validate() throws {
        guard let out else {
            guard let format, !format.isBinary else {
                throw ValidationError("give --out FILE (or --out - for stdout), or --format csv or json to print to stdout")
            }
            return
        }
        guard !out.isEmpty else { throw ValidationError("--out must name a file, or - for stdout") }
        guard resolvedFormat != nil else {
            throw ValidationError("give --format csv, json, npy, safetensors or saelens (it cannot be told from the name '\(out)')")
        }
        if component != nil, resolvedFormat != .saelens { throw ValidationError("--component is for --format saelens") }
        if let component, component < 0 { throw ValidationError("--component must be >= 0, got \(component)") }
    }

    func run() throws {
        let format = resolvedFormat!
        // The destination is checked before any work.
        let target = try ExportTarget(path: out ?? "-", force: force, binary: format.isBinary)
        let located = try store.openRun(runName)
        let (runInfo, selected) = try located.store.read { snapshot in
            (try snapshot.run(named: located.run), try selection.read(snapshot, run: located.run))
        }
        let state = selected.state
        var sparsity: [UInt8] = []
        if format == .saelens {
            let k = try ComponentChoice.resolve(component, of: runInfo, why: "a SAELens file holds one")
            sparsity = try SAELensSparsity.fileBytes(counts: Array(state.counts[(k * state.features)..<((k + 1) * state.features)]),
                                                    vectors: state.vectors)
        }
        let bytes = try target.write { file in
            switch format {
            case .npy:
                let writer = try NpyWriter(values(state), shape: state.shape)
                try writeBinary(writer.byteCount, writer.write, to: file)
            case .safetensors:
                var writer = SafetensorsWriter(metadata: metadata(selected, threshold: runInfo.fireThreshold))
                switch what {
                case .density:
                    try writer.add("density", shape: state.shape, values: .float64(state.densities()))
                case .counts:
                    try writer.add("neuron_fired_count", shape: state.shape, values: .int64(state.counts))
                    try writer.add("num_activation_vectors", shape: [], values: .int64([state.vectors]))
                }
                try writeBinary(writer.byteCount, writer.write, to: file)
            case .csv:
                try writeCSV(state, to: file)
            case .json:
                try writeJSON(selected, to: file)
            case .saelens:
                try sparsity.withUnsafeBytes { try file.append($0) }
            }
        }
        let shape = state.shape.map(String.init).joined(separator: ", ")
        Console.message("run '\(runName)', \(selected.title): \(what.rawValue) of shape [\(shape)], \(state.vectors) vectors -> \(target.name) (\(format.rawValue), \(bytes) bytes\(target.note))")
    }

    // MARK: - Formats

    /// The values asked for: densities as float64 or counts as int64.
    func values(_ state: DensityState) -> TensorValues {
        switch what {
        case .density: .float64(state.densities())
        case .counts: .int64(state.counts)
        }
    }

    /// The safetensors `__metadata__`: strings only, as the format requires.
    func metadata(_ selected: SelectedState, threshold: Double) -> [String: String] {
        var metadata = ["run": runName, "vectors": String(selected.state.vectors), "fire_threshold": "\(threshold)"]
        switch selected.scope {
        case .step(let step):
            metadata["step"] = String(step)
        case .window(let from, let to):
            metadata["from"] = from.map(String.init) ?? "start"
            metadata["to"] = String(to)
        }
        return metadata
    }

    /// Streams a binary writer's pieces into the file, with progress in bytes.
    func writeBinary(
        _ byteCount: Int, _ write: (Int, (UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        to file: ExportFile
    ) throws {
        let progress = Progress("writing \(out ?? "stdout")", total: byteCount)
        defer { progress.finish() }
        try write(1 << 20) { chunk in
            try file.append(chunk)
            progress.advance(by: chunk.count)
        }
    }

    /// feature,count,density rows (component first for runs with components).
    func writeCSV(_ state: DensityState, to file: ExportFile) throws {
        let progress = Progress("writing \(out ?? "stdout")", total: state.counts.count)
        defer { progress.finish() }
        let hasComponents = state.components != nil
        try file.append(CountRows.header(hasComponents: hasComponents))
        let piece = 1 << 15  // features a write: about 1 MiB of text
        for start in stride(from: 0, to: state.counts.count, by: piece) {
            let end = min(start + piece, state.counts.count)
            try file.append(CountRows.rows(state.counts[start..<end], start: start, features: state.features,
                                           hasComponents: hasComponents, vectors: state.vectors))
            progress.update(to: end)
        }
    }

    /// One JSON object; the values flat and row-major.
    func writeJSON(_ selected: SelectedState, to file: ExportFile) throws {
        let state = selected.state
        let progress = Progress("writing \(out ?? "stdout")", total: state.counts.count)
        defer { progress.finish() }
        var head = JSONValue.object([("run", .string(runName))] + selected.jsonFields + [
            ("vectors", .int(state.vectors)), ("what", .string(what.rawValue)),
            ("shape", .array(state.shape.map { .int(Int64($0)) })),
        ]).text
        head.removeLast()  // the closing brace; the values follow
        try file.append(head + ",\"values\":[")
        var text = ""
        for (index, count) in state.counts.enumerated() {
            if index > 0 { text += "," }
            text += what == .counts ? String(count) : JSONValue.number(DensityState.density(count: count, vectors: state.vectors))
            if text.utf8.count >= 1 << 20 {
                try file.append(text)
                text = ""
                progress.update(to: index + 1)
            }
        }
        try file.append(text + "]}\n")
        progress.update(to: state.counts.count)
    }
}
