import DensityFormats
import DensityMetric
import Foundation
import Testing

/// Reading torchmetrics state files written by PyTorch + safetensors, and refusing bad ones.
@Suite struct SafetensorsFileTests {
    /// A safetensors file built by hand from the documented layout.
    static func bytes(header: String, data: [UInt8]) -> [UInt8] {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        let length = UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + json + data
    }

    static func int64Bytes(_ values: [Int64]) -> [UInt8] {
        values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> (8 * UInt64($0))) } }
    }

    @Test(arguments: ["torch_state_f32_F10.safetensors", "torch_state_i64_C2_F6_n1.safetensors",
                      "torch_state_f64_C2_F6_step1200.safetensors", "torch_state_i32_C2_F6.safetensors",
                      "torch_state_f32_past_2p24.safetensors"])
    func torchStatesReadAsTheManifestSays(name: String) throws {
        let entry = try Fixtures.entry(name)
        let state = try TorchMetricsState(file: SafetensorsFile(path: Fixtures.path(name)))
        #expect(state.counts == (try flattenedInts(entry["neuron_fired_count"])))
        #expect(state.vectors == (entry["num_activation_vectors"] as? NSNumber)?.int64Value)
        #expect(state.step == (entry["step"] as? NSNumber)?.int64Value)
        let rows = (entry["neuron_fired_count"] as? [Any])?.first is [Any]
        #expect(state.shape.count == (rows ? 2 : 1))
        // float32 past 2^24 warns; nothing else does.
        #expect(state.warnings.isEmpty == (name != "torch_state_f32_past_2p24.safetensors"))
        // As an exact state of the right width, densities are count / vectors in float64.
        let features = state.shape.last!, components = state.shape.count == 2 ? state.shape[0] : nil
        let exact = try state.state(features: features, components: components)
        #expect(exact.densities() == state.counts.map { Double($0) / Double(state.vectors) })
        #expect(throws: DensityError.self) { try state.state(features: features + 1, components: components) }
    }

    /// A state read from a path, or the message of its refusal.
    enum Outcome: Equatable {
        case state(TorchMetricsState)
        case refused(String)
    }

    static func outcome(_ read: () throws -> TorchMetricsState) -> Outcome {
        do { return .state(try read()) } catch { return .refused("\(error)") }
    }

    @Test(arguments: ["torch_state_f32_F10.safetensors", "torch_state_i64_C2_F6_n1.safetensors",
                      "torch_state_f64_C2_F6_step1200.safetensors", "torch_state_i32_C2_F6.safetensors",
                      "bad_wrong_names.safetensors", "bad_fractional_counts.safetensors", "bad_truncated.safetensors"])
    func readingAFileStraightIntoItsCountsGivesWhatReadingItWholeGives(name: String) throws {
        let path = try Fixtures.path(name)
        let straight = Self.outcome { try TorchMetricsState(safetensorsAt: path) }
        #expect(straight == Self.outcome { try TorchMetricsState(file: SafetensorsFile(path: path)) })
        if case .state = straight { #expect(!name.hasPrefix("bad_")) } else { #expect(name.hasPrefix("bad_")) }
    }

    @Test func aPipeIsReadWholeAndAFolderIsRefused() throws {
        let name = "torch_state_i64_C2_F6_n1.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try Fixtures.path(name)))
        try withTemporaryDirectory { folder in
            let fifo = folder.appendingPathComponent("state.fifo").path
            try #require(mkfifo(fifo, 0o600) == 0)
            let writer = Thread { try? bytes.write(to: URL(fileURLWithPath: fifo)) }
            writer.start()
            let fromPipe = try TorchMetricsState(safetensorsAt: fifo)
            #expect(fromPipe == (try TorchMetricsState(file: SafetensorsFile(path: try Fixtures.path(name)))))
            let error = #expect(throws: SafetensorsError.self) { try TorchMetricsState(safetensorsAt: folder.path) }
            #expect(error?.description.contains("cannot be read") == true)
        }
    }

    @Test func wrongNamesListWhatWasFoundAndExpected() throws {
        let error = #expect(throws: SafetensorsError.self) {
            try TorchMetricsState(file: SafetensorsFile(path: Fixtures.path("bad_wrong_names.safetensors")))
        }
        let text = try #require(error).description
        for word in ["'counts'", "'n'", "neuron_fired_count", "num_activation_vectors"] { #expect(text.contains(word), "\(text)") }
    }

    @Test func fractionalAndTruncatedFilesAreRefused() throws {
        let fractional = #expect(throws: SafetensorsError.self) {
            try TorchMetricsState(file: SafetensorsFile(path: Fixtures.path("bad_fractional_counts.safetensors")))
        }
        #expect(fractional?.description.contains("1.5") == true)
        let truncated = #expect(throws: SafetensorsError.self) {
            try SafetensorsFile(path: Fixtures.path("bad_truncated.safetensors"))
        }
        #expect(truncated?.description.contains("truncated") == true)
    }

    @Test func theDocumentedLayoutIsReadExactly() throws {
        let counts: [Int64] = [0, 5, 1 << 40, 7]
        let header = #"{"neuron_fired_count":{"dtype":"I64","shape":[4],"data_offsets":[0,32]},"num_activation_vectors":{"dtype":"I64","shape":[],"data_offsets":[32,40]},"__metadata__":{"format":"pt"}}"#
        let file = try SafetensorsFile(bytes: Self.bytes(header: header, data: Self.int64Bytes(counts + [1 << 41])), source: "mem")
        #expect(file.metadata == ["format": "pt"])
        let state = try TorchMetricsState(file: file)
        #expect(state.counts == counts && state.vectors == 1 << 41 && state.shape == [4] && state.step == nil)
    }

    @Test(arguments: [
        ("header length past the file", [UInt8]([0xFF, 0, 0, 0, 0, 0, 0, 0]) + Array("{}".utf8), "claims"),
        ("header length past the bound", [UInt8]([0, 0, 0, 0, 1, 0, 0, 0]), "more than"),
        ("too short", [UInt8]([1, 2, 3]), "8-byte"),
        ("not JSON", bytes(header: "nope", data: []), "JSON"),
        ("offsets past the data", bytes(header: #"{"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0, 0, 0, 0, 0]), "outside"),
        ("size not matching the shape", bytes(header: #"{"a":{"dtype":"I64","shape":[3],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16)), "needs 24 bytes"),
        ("unknown dtype", bytes(header: #"{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), "unknown dtype"),
        ("negative dimension", bytes(header: #"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}"#, data: []), "invalid dimension"),
    ] as [(String, [UInt8], String)])
    func malformedBytesAreRefusedWithTheReason(what: String, bytes: [UInt8], mention: String) {
        let error = #expect(throws: SafetensorsError.self, "\(what)") { try SafetensorsFile(bytes: bytes, source: "mem") }
        #expect(error?.description.contains(mention) == true, "\(what): \(String(describing: error))")
    }

    @Test func negativeCountsAndBadVectorsAreRefused() throws {
        let negative = #"{"neuron_fired_count":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"num_activation_vectors":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}"#
        #expect(throws: SafetensorsError.self) {
            try TorchMetricsState(file: SafetensorsFile(bytes: Self.bytes(header: negative, data: Self.int64Bytes([-1, 4])), source: "mem"))
        }
        let wideVectors = #"{"neuron_fired_count":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"num_activation_vectors":{"dtype":"I64","shape":[2],"data_offsets":[8,24]}}"#
        #expect(throws: SafetensorsError.self) {
            try TorchMetricsState(file: SafetensorsFile(bytes: Self.bytes(header: wideVectors, data: Self.int64Bytes([1, 4, 4])), source: "mem"))
        }
        // A count above the vectors seen is not a valid state.
        let above = #"{"neuron_fired_count":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"num_activation_vectors":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}"#
        let state = try TorchMetricsState(file: SafetensorsFile(bytes: Self.bytes(header: above, data: Self.int64Bytes([9, 4])), source: "mem"))
        #expect(throws: DensityError.self) { try state.state(features: 1, components: nil) }
    }

    /// A stream's frame is range-checked piece by piece as it is read: a negative count in any
    /// piece (the first, one past a piece boundary, the last) is named as the whole-file reader
    /// names it, a count above the vectors is refused when the state is made, and a valid frame
    /// gives the same state as the whole-file reader.
    @Test(arguments: [0, 32_768, 70_001])
    func aStreamFrameNamesABadCountInAnyPiece(index: Int) throws {
        let features = 70_002
        func payload(_ counts: [Int64], vectors: Int64) throws -> [UInt8] {
            var writer = SafetensorsWriter()
            try writer.add(TorchMetricsState.countsName, shape: [features], values: .int64(counts))
            try writer.add(TorchMetricsState.vectorsName, shape: [], values: .int64([vectors]))
            try writer.add(TorchMetricsState.stepName, shape: [], values: .int64([3]))
            return writer.bytes()
        }
        func streamed(_ bytes: [UInt8]) throws -> Result<TorchMetricsState, any Error> {
            var reader = StateFrameReader(bytes: StateFrameReader.frame(bytes), source: "s")
            return try #require(try reader.nextState())
        }
        let valid = (0..<features).map { Int64($0 % 50) }
        let good = try payload(valid, vectors: 50)
        let fromStream = try streamed(good).get()
        #expect(fromStream == (try TorchMetricsState(file: SafetensorsFile(bytes: good, source: "s"))))
        #expect(try fromStream.state(features: features, components: nil).counts == valid)

        var negative = valid
        negative[index] = -7
        let error = try #require(throws: SafetensorsError.self) { try streamed(try payload(negative, vectors: 50)).get() }
        #expect("\(error)".contains("negative count -7 at index \(index)"))

        var above = valid
        above[index] = 51
        let state = try streamed(try payload(above, vectors: 50)).get()
        let refused = try #require(throws: DensityError.self) { try state.state(features: features, components: nil) }
        #expect("\(refused)".contains("count 51 at feature \(index)"), "\(refused)")
    }
}
