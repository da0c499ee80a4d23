import DensityFormats
import Foundation
import Testing

/// The ZIP layer of `.npz` archives: entries as Python's `zipfile` sees them, and damaged or hostile
/// archives refused with ``NpzError`` (never a crash, never a large allocation).
@Suite struct NpzArchiveTests {
    /// Writes `stored.npz` (np.savez) and `deflated.npz` (np.savez_compressed) of the same arrays,
    /// each member's bytes as `zipfile` reads them, `entries.json` with `zipfile`'s view of them,
    /// and two hand-built zip64 archives whose directory claims more than the limits allow.
    static let generator = #"""
import json, os, struct, sys, zipfile, zlib
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(3)
arrays = dict(neuron_fired_count=rng.integers(0, 50, size=(4, 300)), num_activation_vectors=np.int64(50),
              step=np.int64(7))
np.savez(os.path.join(out, "stored.npz"), **arrays)
np.savez_compressed(os.path.join(out, "deflated.npz"), **arrays)
entries = {}
for name in ("stored.npz", "deflated.npz"):
    with zipfile.ZipFile(os.path.join(out, name)) as z:
        entries[name] = []
        for info in z.infolist():
            data = z.read(info.filename)
            member = name + "." + info.filename
            with open(os.path.join(out, member), "wb") as f:
                f.write(data)
            entries[name].append(dict(name=info.filename, crc=info.CRC, compressed=info.compress_size,
                                      uncompressed=info.file_size, method=info.compress_type, member=member))

def zip64(path, uncompressed):
    # One deflated member whose central record defers its sizes to a zip64 extra field.
    name = b"neuron_fired_count.npy"
    c = zlib.compressobj(6, zlib.DEFLATED, -15); data = c.compress(b"\0" * 1000) + c.flush()
    local = struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 8, 0, 0, 0, len(data), 1000, len(name), 0) + name
    extra = struct.pack("<HHQQ", 1, 16, uncompressed, len(data))
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 8, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF,
                          len(name), len(extra), 0, 0, 0, 0, 0) + name + extra
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    with open(os.path.join(out, path), "wb") as f:
        f.write(local + data + central + end)
    return len(data)

zip64("huge.npz", 20 * 2**30)
compressed = zip64("bomb.npz", 2 * 2**30)
with open(os.path.join(out, "entries.json"), "w") as f:
    json.dump(dict(entries=entries, bomb_compressed=compressed), f)
"""#

    struct Entry {
        var name: String
        var crc: UInt32
        var compressed: Int
        var uncompressed: Int
        var method: Int
        var member: String
    }

    static func generate(in directory: URL) throws -> [String: [Entry]] {
        _ = try runPython(generator, arguments: [directory.path])
        let data = try Data(contentsOf: directory.appendingPathComponent("entries.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let archives = try #require(json["entries"] as? [String: [[String: Any]]])
        return try archives.mapValues { list in
            try list.map { item in
                Entry(name: try #require(item["name"] as? String),
                      crc: UInt32(try #require((item["crc"] as? NSNumber)?.uint32Value)),
                      compressed: try #require(item["compressed"] as? Int),
                      uncompressed: try #require(item["uncompressed"] as? Int),
                      method: try #require(item["method"] as? Int), member: try #require(item["member"] as? String))
            }
        }
    }

    /// The archive's bytes and the offset of its first central-directory record (numpy writes no comment).
    static func bytes(_ name: String, in directory: URL) throws -> (bytes: [UInt8], directory: Int) {
        let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
        return (bytes, Int(le32(bytes, bytes.count - 22 + 16)))
    }

    static func le32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    static func setLE32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
    }

    /// Runs `body` expecting an ``NpzError`` and returns its message.
    func npzMessage(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let error = #expect(throws: NpzError.self, sourceLocation: sourceLocation) { try body() }
        return error?.description ?? ""
    }

    // MARK: - Reading

    @Test(arguments: ["stored.npz", "deflated.npz"])
    func entriesAndBytesMatchPythonsZipfile(name: String) throws {
        try withTemporaryDirectory { directory in
            let expected = try #require(try Self.generate(in: directory)[name])
            let archive = try NpzArchive(path: directory.appendingPathComponent(name).path)
            #expect(archive.entries.map(\.fileName) == expected.map(\.name))
            #expect(archive.arrayNames == expected.map { String($0.name.dropLast(4)) })
            for (entry, want) in zip(archive.entries, expected) {
                #expect(entry.crc32 == want.crc && entry.compressedSize == want.compressed, "\(want.name)")
                #expect(entry.uncompressedSize == want.uncompressed, "\(want.name)")
                #expect(entry.method == (want.method == 8 ? .deflated : .stored), "\(want.name)")
                let member = Array(try Data(contentsOf: directory.appendingPathComponent(want.member)))
                #expect(try archive.data(of: entry) == member, "\(want.name)")
            }
            #expect(expected.contains { $0.method == (name == "stored.npz" ? 0 : 8) })
        }
    }

    @Test func aMissingArrayListsTheArraysFound() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let archive = try NpzArchive(path: directory.appendingPathComponent("stored.npz").path)
            let text = npzMessage { _ = try archive.tensor("counts") }
            #expect(text.contains("'counts'") && text.contains("'neuron_fired_count'") && text.contains("'step'"), "\(text)")
        }
    }

    // MARK: - Damage

    @Test(arguments: ["stored.npz", "deflated.npz"])
    func everyTruncationIsRefused(name: String) throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let (whole, _) = try Self.bytes(name, in: directory)
            for length in stride(from: 0, to: whole.count, by: max(1, whole.count / 300)) {
                let path = try write(Array(whole.prefix(length)), to: "cut.npz", in: directory)
                let text = npzMessage {
                    let archive = try NpzArchive(path: path)
                    for name in archive.arrayNames { _ = try archive.tensor(name) }
                }
                #expect(text.contains("cut.npz"), "length \(length): \(text)")
            }
        }
    }

    @Test func bytesCutFromTheMiddleAreRefused() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let (whole, _) = try Self.bytes("stored.npz", in: directory)
            let path = try write(Array(whole[..<200] + whole[208...]), to: "gap.npz", in: directory)
            let text = npzMessage { _ = try NpzArchive(path: path) }
            #expect(text.contains("damaged"), "\(text)")
        }
    }

    @Test func aWrongCRCIsRefusedNamingTheEntry() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            var (bytes, start) = try Self.bytes("stored.npz", in: directory)
            Self.setLE32(&bytes, start + 16, Self.le32(bytes, start + 16) ^ 0x0000_0100)
            let path = try write(bytes, to: "crc.npz", in: directory)
            let archive = try NpzArchive(path: path)
            let text = npzMessage { _ = try archive.tensor("neuron_fired_count") }
            #expect(text.contains("crc.npz:neuron_fired_count.npy") && text.contains("CRC-32"), "\(text)")
        }
    }

    @Test(arguments: ["stored.npz", "deflated.npz"])
    func aFlippedDataByteIsRefused(name: String) throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            var (bytes, start) = try Self.bytes(name, in: directory)
            bytes[start - 3] ^= 0x5A   // inside the last member's data
            let path = try write(bytes, to: "flipped.npz", in: directory)
            let archive = try NpzArchive(path: path)
            let last = try #require(archive.entries.last)
            let text = npzMessage { _ = try archive.data(of: last) }
            #expect(text.contains("flipped.npz:\(last.fileName)") && text.contains("corrupt"), "\(text)")
        }
    }

    @Test func aDeflatedEntryThatDoesNotMatchItsDeclaredSizeIsRefused() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            for (delta, words) in [(-8, "more than"), (8, "bytes")] {
                var (bytes, start) = try Self.bytes("deflated.npz", in: directory)
                let declared = Self.le32(bytes, start + 24)
                Self.setLE32(&bytes, start + 24, UInt32(Int(declared) + delta))
                let path = try write(bytes, to: "size.npz", in: directory)
                let archive = try NpzArchive(path: path)
                let text = npzMessage { _ = try archive.data(of: archive.entries[0]) }
                #expect(text.contains("size.npz:neuron_fired_count.npy") && text.contains(words), "\(delta): \(text)")
                #expect(text.contains(String(Int(declared) + delta)), "\(text)")
            }
        }
    }

    // MARK: - Limits

    @Test func anEntryClaimingMoreThan16GiBIsRefusedOnOpening() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let text = npzMessage { _ = try NpzArchive(path: directory.appendingPathComponent("huge.npz").path) }
            #expect(text.contains("huge.npz:neuron_fired_count.npy") && text.contains(String(20 << 30))
                    && text.contains("16 GiB"), "\(text)")
        }
    }

    @Test func anEntryClaimingMoreThanDeflateCanAchieveIsRefusedOnOpening() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            let text = npzMessage { _ = try NpzArchive(path: directory.appendingPathComponent("bomb.npz").path) }
            #expect(text.contains(String(2 << 30)) && text.contains("1032:1") && text.contains("zip bomb"), "\(text)")
            // The same with the classic 32-bit field of a numpy archive.
            var (bytes, start) = try Self.bytes("deflated.npz", in: directory)
            Self.setLE32(&bytes, start + 24, 0xFFFF_FFF0)
            let path = try write(bytes, to: "bomb32.npz", in: directory)
            let classic = npzMessage { _ = try NpzArchive(path: path) }
            #expect(classic.contains(String(0xFFFF_FFF0)) && classic.contains("zip bomb"), "\(classic)")
        }
    }

    @Test func tooManyEntriesAreRefused() throws {
        try withTemporaryDirectory { directory in
            _ = try Self.generate(in: directory)
            var (bytes, _) = try Self.bytes("stored.npz", in: directory)
            let end = bytes.count - 22
            let count = UInt32(NpzArchive.maxEntries + 1)
            Self.setLE32(&bytes, end + 8, count | count << 16)   // entries on this disk, and in all
            let path = try write(bytes, to: "many.npz", in: directory)
            let text = npzMessage { _ = try NpzArchive(path: path) }
            #expect(text.contains(String(NpzArchive.maxEntries + 1)) && text.contains("entries"), "\(text)")
        }
    }

    // MARK: - Not an archive

    @Test func filesThatAreNotArchivesAreRefused() throws {
        try withTemporaryDirectory { directory in
            let text = try write(Array("neuron_fired_count,3\n".utf8), to: "state.csv", in: directory)
            let empty = try write([], to: "empty.npz", in: directory)
            let npy = try write(NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", shape: "(1,)"), data: NpyBytes.float32([1])),
                                to: "state.npy", in: directory)
            #expect(npzMessage { _ = try NpzArchive(path: text) }.contains("no ZIP end-of-central-directory record"))
            #expect(npzMessage { _ = try NpzArchive(path: empty) }.contains("the file is empty"))
            #expect(npzMessage { _ = try NpzArchive(path: npy) }.contains("single .npy array"))
            let missing = directory.appendingPathComponent("nope.npz").path
            #expect(npzMessage { _ = try NpzArchive(path: missing) }.contains("cannot read '\(missing)'"))
            #expect(npzMessage { _ = try NpzArchive(path: directory.path) }.contains("directory"))
        }
    }
}
