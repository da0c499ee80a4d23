import Foundation
import Testing
@testable import DensityStore

/// The chunk checksum must be zlib's CRC-32, so any tool can check a chunk
/// (Python: `zlib.crc32(data)`).
@Suite struct CRC32Tests {
    @Test func checkValueOfTheStandard() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    /// Values computed with Python 3's `zlib.crc32` when this test was written.
    @Test(arguments: [
        ("", 0x0000_0000),
        ("a", 0xE8B7_BE43),
        ("abc", 0x3524_41C2),
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
    ] as [(String, UInt32)])
    func knownTextVectors(text: String, expected: UInt32) {
        #expect(CRC32.checksum(Array(text.utf8)) == expected)
        #expect(CRC32.checksum(Data(text.utf8)) == expected)
    }

    @Test func knownByteVectors() {
        #expect(CRC32.checksum([UInt8](repeating: 0, count: 32)) == 0x190A_55AD)
        #expect(CRC32.checksum([UInt8](repeating: 0xFF, count: 32)) == 0xFF6C_AB0B)
    }

    /// The bytes of `lcgBytes(length:)`: a 32-bit LCG the Python side reproduces exactly:
    /// `s = (n * 2654435761 + 1) & 0xFFFFFFFF`, then per byte `s = (s * 1664525 + 1013904223) & 0xFFFFFFFF`,
    /// byte `s >> 24`.
    static func lcgBytes(length: Int) -> [UInt8] {
        var s = UInt32(truncatingIfNeeded: length) &* 2_654_435_761 &+ 1
        return (0..<length).map { _ in
            s = s &* 1_664_525 &+ 1_013_904_223
            return UInt8(s >> 24)
        }
    }

    /// `zlib.crc32(lcgBytes(n))` for n = 0...100, computed with Python 3's zlib when this test was
    /// written (hard-coded so the suite does not need Python).
    static let pythonZlibCRC: [UInt32] = [
        0x0000_0000, 0x4AD0_CF31, 0x2237_C6F2, 0x6722_FA2A, 0xEA26_08FA, 0x297D_70A7,
        0x3830_AC99, 0x6511_B5B1, 0x40E2_8E62, 0x35C3_8738, 0x94B7_E486, 0xAEFC_8EA9,
        0x07C9_2B05, 0x8199_B300, 0x017B_D736, 0x48B8_C664, 0xCB37_08FE, 0xBD9B_016E,
        0xF3BD_ECE7, 0x34EE_7276, 0xBADF_7BCC, 0xAB2A_52B1, 0xB478_0AA3, 0x6A9D_D37D,
        0xBDE2_A9CF, 0xBA6D_B840, 0x0565_9CFB, 0x4C22_1AFF, 0x91B7_6654, 0xFDBD_B649,
        0x4D0F_3F8F, 0xF5E7_DF81, 0xB26D_1B63, 0x5E4F_B3FE, 0xAD57_BDD3, 0x36DC_4D5F,
        0x8C47_FC28, 0x8222_25AD, 0x91C5_B3F8, 0x4342_8C61, 0x2F20_B733, 0x8508_7930,
        0x0E0C_4C66, 0xA768_3587, 0x48CC_C439, 0xFEF9_91E3, 0x8743_ACA8, 0x3039_FE79,
        0x83AE_0E09, 0x15B3_84F0, 0x3FE4_1EAC, 0xACAC_CF62, 0xEB64_CF40, 0xE378_9F29,
        0x7271_6234, 0x8493_94F3, 0x5B1B_C09F, 0x42B1_087F, 0x3933_15E0, 0x6882_8B1F,
        0x491D_53EF, 0xB0C4_EDD8, 0x43D7_ACA6, 0xDC17_3625, 0x18CE_3108, 0xC9A1_8A38,
        0x57B2_9757, 0x32D4_56F5, 0xB04A_F842, 0x367A_35C9, 0xA06E_F502, 0x1AC4_A0FB,
        0x1752_A33E, 0x104C_12FB, 0xB372_91CA, 0xF110_53D5, 0x5942_8AFE, 0xAE84_1C8E,
        0x5DC8_3D87, 0x6733_34EE, 0x44F3_61A4, 0xF7C7_FE5A, 0xB237_0CB6, 0xB247_3B6C,
        0x911B_68AF, 0x24AF_45C2, 0x560C_2F4A, 0x19DF_2126, 0xA000_3685, 0x7AED_9D1C,
        0x0BAF_2990, 0x162D_9B20, 0x2328_A8BF, 0x4B1A_7D37, 0x084D_332A, 0x6C23_5C2B,
        0x7BD8_6C86, 0xA681_9FB0, 0x5E2C_C9F1, 0x51A7_709E, 0xA9E7_2B60,
    ]

    @Test(arguments: 0...100)
    func matchesPythonZlibForPseudoRandomData(length: Int) {
        let bytes = Self.lcgBytes(length: length)
        #expect(CRC32.checksum(bytes) == Self.pythonZlibCRC[length])
        #expect(bitwiseCRC32(bytes) == Self.pythonZlibCRC[length], "the test's own CRC must agree too")
    }

    /// The slicing-by-8 loop reads unaligned 8-byte words: check every start offset and every tail.
    @Test func matchesBitwiseDefinitionAtEveryAlignment() {
        var rng = SplitMix64(seed: 42)
        let buffer = (0..<1100).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for offset in 0..<8 {
            for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000] {
                let slice = buffer[offset..<(offset + length)]
                let fast = slice.withUnsafeBytes { CRC32.checksum($0) }
                #expect(fast == bitwiseCRC32(slice), "offset \(offset), length \(length)")
            }
        }
    }

    /// Random data of every length 0...100 against Python's `zlib.crc32`, run now in a
    /// `python3` subprocess. Skipped where no `python3` is on the PATH (the hard-coded vectors
    /// above still pin the algorithm there).
    @Test(.enabled(if: CRC32Tests.python3 != nil, "needs python3 on the PATH"))
    func matchesPythonZlibLive() throws {
        var rng = SplitMix64(seed: 7)
        let samples = (0...100).map { length in (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        let input = samples.map { $0.map { String(format: "%02x", $0) }.joined() }.joined(separator: "\n") + "\n"
        let script = "import sys, zlib\nfor line in sys.stdin.read().split('\\n')[:-1]: print(zlib.crc32(bytes.fromhex(line)))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.python3))
        process.arguments = ["-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let expected = String(decoding: output, as: UTF8.self).split(separator: "\n").compactMap { UInt32($0) }
        try #require(expected.count == samples.count)
        for (bytes, value) in zip(samples, expected) {
            #expect(CRC32.checksum(bytes) == value, "length \(bytes.count)")
        }
    }

    static let python3: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/python3" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
}
