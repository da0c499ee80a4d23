import DensityFormats
import DensityMetric
import DensityWorkload
import Foundation
import Testing

/// The readers of outside input (`.npy`, `.safetensors`, `density record`'s stream frames) survive random and mutated input (seeded): bit flips, truncations,
/// length fields and dimensions set to extreme values, splices and random bytes. Every input is
/// either accepted, with sizes that fit the bytes given, or refused with the reader's own error:
/// never a crash, a hang or an allocation larger than the input allows.
/// `DENSITY_FUZZ_ITERATIONS=N` runs N inputs per suite instead of the defaults (for long runs).
@Suite struct FuzzTests {
    /// Inputs per test: `DENSITY_FUZZ_ITERATIONS`, else `standard`.
    static func iterations(_ standard: Int) -> Int {
        ProcessInfo.processInfo.environment["DENSITY_FUZZ_ITERATIONS"].flatMap(Int.init) ?? standard
    }

    // MARK: - .npy

    /// Valid files of every version, dtype, order and rank, with small data.
    static func npySeeds() throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for (values, shape) in [(TensorValues.float32([1, -2, 0, 3.5, .infinity, -0.0]), [2, 3]),
                                (.float64([0.25, 1e-300]), [2]), (.float32([]), [0, 7]),
                                (.float32([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2])] {
            seeds.append(try NpyWriter(values, shape: shape).bytes())
        }
        let data = [UInt8](repeating: 0x3C, count: 48)
        seeds.append(npyFile(dict: "{'descr': '>f2', 'fortran_order': True, 'shape': (4, 6), }", version: 2, data: data))
        seeds.append(npyFile(dict: "{\"shape\": (3,4,), \"descr\": \"<f8\", \"fortran_order\": False}", version: 3, data: data + data))
        seeds.append(npyFile(dict: "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", version: 1, data: data))
        return seeds
    }

    /// A file: magic, version, length, the dict padded to 64 bytes, then `data`.
    static func npyFile(dict: String, version: UInt8, data: [UInt8]) -> [UInt8] {
        let preamble = version == 1 ? 10 : 12
        var text = Array(dict.utf8)
        text += [UInt8](repeating: 0x20, count: (64 - (preamble + text.count + 1) % 64) % 64) + [0x0A]
        var bytes = NpyHeader.magic + [version, 0]
        for shift in 0..<(version == 1 ? 2 : 4) { bytes.append(UInt8(truncatingIfNeeded: text.count >> (8 * shift))) }
        return bytes + text + data
    }

    @Test func npyHeadersNeverCrash() throws {
        let seeds = try Self.npySeeds()
        var mutator = ByteMutator(seed: 1)
        var accepted = 0, refused = 0
        let count = Self.iterations(20_000)
        for i in 0..<count {
            let input = mutator.mutate(seeds[i % seeds.count], splicingWith: seeds[(i / 7) % seeds.count])
            do {
                let header = try NpyHeader(parsing: input, path: "fuzz.npy")
                accepted += 1
                #expect(header.dataOffset <= input.count && !header.shape.isEmpty)
                #expect(!header.elementCount.multipliedReportingOverflow(by: header.dtype.itemSize).overflow)
                #expect(header.shape.reduce(1, *) == header.elementCount)
            } catch is NpyError {
                refused += 1
            }
        }
        print("fuzz: \(count) .npy headers, \(accepted) accepted, \(refused) refused")
        #expect(accepted + refused == count && refused > 0)
    }

    /// Found by the fuzzer: the item size of an unsupported dtype was multiplied by 8 unchecked.
    @Test func hugeItemSizeOfAnUnsupportedDTypeIsRefused() throws {
        for descr in ["<i99999999999999999", "<u9223372036854775807", "<c99999999999999999999999", "<f1152921504606846976"] {
            let input = Self.npyFile(dict: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", version: 1, data: [0])
            let error = #expect(throws: NpyError.self) { try NpyHeader(parsing: input, path: "huge.npy") }
            #expect(error?.description.contains(descr) == true, "\(String(describing: error))")
        }
    }

    @Test func npyFilesNeverCrashOrReadPastTheirData() throws {
        try withTemporaryDirectory { directory in
            let seeds = try Self.npySeeds()
            var mutator = ByteMutator(seed: 2)
            var accepted = 0, refused = 0
            let count = Self.iterations(1_500)
            let path = directory.appendingPathComponent("fuzz.npy").path
            for i in 0..<count {
                let input = mutator.mutate(seeds[i % seeds.count])
                try Data(input).write(to: URL(fileURLWithPath: path))
                do {
                    let file = try NpyFile(path: path)
                    // Opening checked that the data is there: reading allocates no more than the file.
                    #expect(file.header.dataByteCount <= input.count)
                    var rows = 0
                    try file.forEachBatch(maxRowsPerBatch: 1 + mutator.below(3)) { rows += $0.shape[0] }
                    #expect(rows == file.rowCount)
                    accepted += 1
                } catch is NpyError {
                    refused += 1
                }
            }
            print("fuzz: \(count) .npy files, \(accepted) accepted and read, \(refused) refused")
            #expect(accepted + refused == count && refused > 0 && accepted > 0)
        }
    }

    // MARK: - .safetensors

    /// Valid state files: int64 and float32 counts, [F] and [C, F], with and without step and metadata.
    static func safetensorsSeeds() throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        var plain = SafetensorsWriter()
        try plain.add("neuron_fired_count", shape: [4], values: .int64([0, 3, 7, 1]))
        try plain.add("num_activation_vectors", shape: [], values: .int64([9]))
        seeds.append(plain.bytes())
        var rich = SafetensorsWriter(metadata: ["run": "fuzz \"quoted\" ünïcode", "step": "12"])
        try rich.add("neuron_fired_count", shape: [2, 3], values: .float32([0, 1, 2, 3, 4, 5]))
        try rich.add("num_activation_vectors", shape: [1], values: .int64([10]))
        try rich.add("step", shape: [], values: .int64([12]))
        seeds.append(rich.bytes())
        var wide = SafetensorsWriter()
        try wide.add("neuron_fired_count", shape: [40], values: .float64((0..<40).map(Double.init)))
        try wide.add("num_activation_vectors", shape: [], values: .int32([40]))
        seeds.append(wide.bytes())
        return seeds
    }

    @Test func safetensorsFilesNeverCrash() throws {
        let seeds = try Self.safetensorsSeeds()
        var mutator = ByteMutator(seed: 3)
        var accepted = 0, refused = 0, states = 0
        let count = Self.iterations(8_000)
        for i in 0..<count {
            let input = mutator.mutate(seeds[i % seeds.count], splicingWith: seeds[(i + 1) % seeds.count])
            do {
                let file = try SafetensorsFile(bytes: input, source: "fuzz.safetensors")
                accepted += 1
                for (name, tensor) in file.tensors {
                    let size = try #require(SafetensorsFile.dtypeSizes[tensor.dtype])
                    #expect(tensor.range.upperBound <= file.data.count && tensor.range.count == tensor.elementCount * size)
                    _ = try? file.doubles(name)
                    _ = try? file.integers(name)
                }
                do {
                    let state = try TorchMetricsState(file: file)
                    _ = try? state.state(features: state.shape.last ?? 1, components: state.shape.count == 2 ? state.shape[0] : nil)
                    states += 1
                } catch is SafetensorsError {}
            } catch is SafetensorsError {
                refused += 1
            }
        }
        print("fuzz: \(count) .safetensors inputs, \(accepted) parsed (\(states) valid metric states), \(refused) refused")
        #expect(accepted + refused == count && refused > 0 && accepted > 0)
    }

    // MARK: - `density record` stream frames

    @Test func stateStreamsNeverCrashOrOverAllocate() throws {
        let payloads = try Self.safetensorsSeeds()
        let streams = [payloads.flatMap(StateFrameReader.frame), StateFrameReader.frame(payloads[1]),
                       payloads.reversed().flatMap(StateFrameReader.frame) + [1, 2, 3]]
        var mutator = ByteMutator(seed: 4)
        var frames = 0, states = 0, refusedFrames = 0, refusedStreams = 0
        let count = Self.iterations(5_000)
        for i in 0..<count {
            let input = mutator.mutate(streams[i % streams.count], splicingWith: streams[(i + 1) % streams.count])
            // A small bound, so an inflated length is refused as too large, not read.
            var reader = StateFrameReader(bytes: input, source: "fuzz", maxFrameBytes: 1 << 16)
            do {
                while let payload = try reader.next() {
                    frames += 1
                    #expect(payload.count <= 1 << 16 && reader.offset <= input.count)
                    do {
                        _ = try TorchMetricsState(file: SafetensorsFile(bytes: payload, source: "fuzz frame"))
                        states += 1
                    } catch is SafetensorsError {
                        refusedFrames += 1
                    }
                }
            } catch is StateFrameError {
                refusedStreams += 1
            }
        }
        print("fuzz: \(count) record streams, \(frames) frames read (\(states) valid states, \(refusedFrames) refused), \(refusedStreams) streams refused (truncated or too large)")
        #expect(refusedStreams > 0 && states > 0)
    }

    /// What a stream yields frame by frame: a state, a refusal, or the error that ended it.
    enum StreamItem: Equatable {
        case state(TorchMetricsState)
        case refused(String)
        case ended(String)
    }

    /// Reads a stream the plain way: each frame's bytes, then a file parsed from them.
    static func framesThroughFiles(_ input: [UInt8]) -> [StreamItem] {
        var reader = StateFrameReader(bytes: input, source: "s", maxFrameBytes: 1 << 16)
        var items: [StreamItem] = []
        do {
            while let payload = try reader.next() {
                do {
                    items.append(.state(try TorchMetricsState(file: SafetensorsFile(bytes: payload, source: "s frame \(reader.frameCount)"))))
                } catch {
                    items.append(.refused("\(error)"))
                }
            }
        } catch {
            items.append(.ended("\(error)"))
        }
        return items
    }

    /// Reads a stream as `density record` does: states straight from the stream.
    static func framesAsStates(_ input: [UInt8]) -> [StreamItem] {
        var reader = StateFrameReader(bytes: input, source: "s", maxFrameBytes: 1 << 16)
        var items: [StreamItem] = []
        do {
            while let frame = try reader.nextState() {
                switch frame {
                case .success(let state): items.append(.state(state))
                case .failure(let error): items.append(.refused("\(error)"))
                }
            }
        } catch {
            items.append(.ended("\(error)"))
        }
        return items
    }

    @Test func statesReadStraightFromTheStreamEqualStatesReadThroughFiles() throws {
        // The counts tensor first, in the middle and last; float counts; the fuzz seeds.
        var orders: [[UInt8]] = []
        for names in [["neuron_fired_count", "num_activation_vectors", "step"],
                      ["num_activation_vectors", "neuron_fired_count", "step"],
                      ["step", "num_activation_vectors", "neuron_fired_count"]] {
            var writer = SafetensorsWriter()
            for name in names {
                switch name {
                case "neuron_fired_count": try writer.add(name, shape: [5], values: .int64([4, 0, 9, 1, 2]))
                case "num_activation_vectors": try writer.add(name, shape: [], values: .int64([9]))
                default: try writer.add(name, shape: [], values: .int64([77]))
                }
            }
            orders.append(writer.bytes())
        }
        let payloads = orders + (try Self.safetensorsSeeds())
        let whole = payloads.flatMap(StateFrameReader.frame)
        let clean = Self.framesAsStates(whole)
        #expect(clean == Self.framesThroughFiles(whole))
        #expect(clean.count == payloads.count && clean.allSatisfy { if case .state = $0 { true } else { false } })
        if case .state(let middle) = clean[1] {
            #expect(middle.counts == [4, 0, 9, 1, 2] && middle.vectors == 9 && middle.step == 77)
        }
        // Mutated streams: the same states, the same refusals, the same end, frame for frame.
        var mutator = ByteMutator(seed: 9)
        var refused = 0, ended = 0
        for i in 0..<Self.iterations(3_000) {
            let input = mutator.mutate(whole, splicingWith: payloads[i % payloads.count])
            let direct = Self.framesAsStates(input)
            #expect(direct == Self.framesThroughFiles(input))
            refused += direct.filter { if case .refused = $0 { true } else { false } }.count
            ended += direct.last.map { if case .ended = $0 { 1 } else { 0 } } ?? 0
        }
        #expect(refused > 0 && ended > 0)
    }

    @Test func hostileSafetensorsHeadersAreRefused() throws {
        func file(_ header: String, data: [UInt8] = []) -> [UInt8] {
            let bytes = Array(header.utf8)
            return (0..<8).map { UInt8(truncatingIfNeeded: bytes.count >> (8 * $0)) } + bytes + data
        }
        let hostile: [[UInt8]] = [
            file(String(repeating: "[", count: 100_000)),                                        // deep nesting
            file(String(repeating: "{\"a\":", count: 50_000)),
            file("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}"),  // huge dims
            file("{\"t\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,16]}}", data: [UInt8](repeating: 0, count: 16)),
            file("{\"t\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,9223372036854775807]}}"),
            file("{\"t\":{\"dtype\":\"I64\",\"shape\":[-1],\"data_offsets\":[0,8]}}", data: [UInt8](repeating: 0, count: 8)),
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],                                     // header length 2^63 - 1
        ]
        for input in hostile {
            #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: input, source: "hostile") }
        }
    }
}
