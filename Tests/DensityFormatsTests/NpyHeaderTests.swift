import DensityFormats
import Testing

@Suite struct NpyHeaderTests {
    // MARK: - Valid headers

    @Test func parsesTheHeaderNumpyWrites() throws {
        let header = try NpyHeader(parsing: NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", shape: "(4, 2, 3)")))
        #expect(header.version == 1)
        #expect(header.dtype == .float32)
        #expect(header.byteOrder == .little)
        #expect(header.fortranOrder == false)
        #expect(header.shape == [4, 2, 3])
        #expect(header.dataOffset == 128)
        #expect(header.elementCount == 24)
        #expect(header.dataByteCount == 96)
    }

    @Test(arguments: [
        // keys in another order, double quotes, no trailing comma, extra whitespace and newlines
        ("{'shape': (5, 7), 'fortran_order': True, 'descr': '<f8'}", [5, 7], true),
        ("{\"descr\": \"<f8\", \"fortran_order\": True, \"shape\": (5, 7)}", [5, 7], true),
        ("  {  'descr' :'<f8' ,'fortran_order':True,'shape':(5,7)  ,  }", [5, 7], true),
        ("{'descr': '<f8',\n 'fortran_order': False,\n\t'shape': (\n5 ,\n)\n}", [5], false),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", [5], false),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", [0, 3], false),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 4L), }", [3, 4], false),  // Python 2 numpy
    ])
    func acceptsEveryLayoutOfTheDict(dict: String, shape: [Int], fortran: Bool) throws {
        let header = try NpyHeader(parsing: NpyBytes.file(dict: dict))
        #expect(header.dtype == .float64)
        #expect(header.shape == shape)
        #expect(header.fortranOrder == fortran)
    }

    @Test(arguments: [
        ("<f2", NpyHeader.DType.float16, NpyHeader.ByteOrder.little),
        (">f2", .float16, .big),
        ("<f4", .float32, .little),
        (">f4", .float32, .big),
        ("=f4", .float32, NpyHeader.ByteOrder.native),
        ("|f4", .float32, NpyHeader.ByteOrder.native),
        ("f4", .float32, NpyHeader.ByteOrder.native),
        ("<f8", .float64, .little),
        (">f8", .float64, .big),
        ("<e", .float16, .little),
        ("<f", .float32, .little),
        ("<d", .float64, .little),
    ])
    func mapsTypeStrings(descr: String, dtype: NpyHeader.DType, order: NpyHeader.ByteOrder) throws {
        let header = try NpyHeader(parsing: NpyBytes.file(dict: NpyBytes.dict(descr: descr, shape: "(2, 3)")))
        #expect(header.dtype == dtype)
        #expect(header.byteOrder == order)
    }

    @Test func nativeIsLittleEndianOnTheHostsWeBuildFor() {
        #expect(NpyHeader.ByteOrder.native == .little)
    }

    @Test(arguments: [UInt8(2), 3])
    func readsVersions2And3WithTheirFourByteLength(version: UInt8) throws {
        let bytes = NpyBytes.file(dict: NpyBytes.dict(descr: "<f2", shape: "(3, 1)"), version: version)
        #expect(bytes[8...11] == [116, 0, 0, 0])  // a u32 length; the dict starts at byte 12
        let header = try NpyHeader(parsing: bytes)
        #expect(header.version == version)
        #expect(header.dataOffset == 128)
        #expect(header.shape == [3, 1])
    }

    @Test func ignoresBytesAfterTheHeader() throws {
        let bytes = NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", shape: "(1, 2)"), data: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        #expect(try NpyHeader(parsing: bytes).dataOffset == 128)
    }

    // MARK: - Refused headers

    @Test func refusesABadMagic() {
        var bytes = NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", shape: "(1, 2)"))
        bytes[1] = UInt8(ascii: "X")
        let message = npyErrorMessage { _ = try NpyHeader(parsing: bytes, path: "acts.npy") }
        #expect(message.contains("'acts.npy' is not an .npy file"))
        #expect(message.contains("magic"))
        #expect(message.contains("93 58 55 4d"))
    }

    @Test func recognisesAZipArchive() {
        let message = npyErrorMessage { _ = try NpyHeader(parsing: [0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(message.contains("zip archive"))
        #expect(message.contains(".npz"))
    }

    @Test func refusesAnEmptyInput() {
        #expect(npyErrorMessage { _ = try NpyHeader(parsing: []) }.contains("the file is empty"))
    }

    @Test(arguments: [(UInt8(4), UInt8(0)), (1, 1), (0, 0)])
    func refusesUnsupportedVersions(major: UInt8, minor: UInt8) {
        var bytes = NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", shape: "(1, 2)"))
        bytes[6] = major
        bytes[7] = minor
        let message = npyErrorMessage { _ = try NpyHeader(parsing: bytes) }
        #expect(message.contains("version \(major).\(minor)"))
        #expect(message.contains("1.0, 2.0 and 3.0"))
    }

    @Test func refusesAHeaderLengthPastTheBound() {
        let length = NpyHeader.maxHeaderBytes + 1
        let message = npyErrorMessage { _ = try NpyHeader(parsing: NpyBytes.header(version: 2, length: length)) }
        #expect(message.contains("declares a \(length)-byte .npy header"))
        #expect(message.contains("\(NpyHeader.maxHeaderBytes)-byte limit"))
    }

    @Test func acceptsAHeaderAtTheBound() throws {
        var dict = Array(NpyBytes.dict(descr: "<f4", shape: "(1, 2)").utf8)
        dict += [UInt8](repeating: 0x20, count: NpyHeader.maxHeaderBytes - dict.count - 1) + [0x0A]
        let header = try NpyHeader(parsing: NpyBytes.header(version: 2, length: dict.count) + dict)
        #expect(header.dataOffset == 12 + NpyHeader.maxHeaderBytes)
    }

    @Test(arguments: [3, 9, 11, 100])
    func refusesATruncatedHeader(keep: Int) {
        let bytes = NpyBytes.file(dict: NpyBytes.dict(descr: "<f4", shape: "(1, 2)"))
        let message = npyErrorMessage { _ = try NpyHeader(parsing: Array(bytes.prefix(keep))) }
        #expect(message.contains("truncated inside its .npy header"))
        #expect(message.contains("the file has \(keep)"))
    }

    @Test(arguments: [
        ("{'descr': '<f4', 'fortran_order': False}", "the key 'shape' is missing"),
        ("{'fortran_order': False, 'shape': (2, 3)}", "the key 'descr' is missing"),
        ("{'descr': '<f4', 'shape': (2, 3)}", "the key 'fortran_order' is missing"),
        ("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3)}", "'fortran_order' must be True or False"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", "'fortran_order' must be True or False"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", "a one-dimensional shape is written (3,)"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", "'shape' to be a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}", "expected an integer in 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')' in 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", "unexpected key 'extra'"),
        ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", "the key 'descr' appears twice"),
        ("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", "expected ',' or '}' after the value of 'descr'"),
        ("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", "expected ',' or '}'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "expected ',' or '}' after the value of 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3),", "expected a quoted key or '}'"),
        ("{'descr: '<f4'}", "expected ':' after the key"),
        ("('descr', '<f4')", "expected the header to start with '{'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", "unexpected text after the closing '}'"),
        ("{'descr': 4, 'fortran_order': False, 'shape': (2, 3)}", "'descr' must be a type string"),
        ("{descr: '<f4', 'fortran_order': False, 'shape': (2, 3)}", "expected a quoted key"),
        ("", "expected the header to start with '{'"),
    ])
    func refusesMalformedDicts(dict: String, problem: String) {
        let message = npyErrorMessage { _ = try NpyHeader(parsing: NpyBytes.file(dict: dict), path: "bad.npy") }
        #expect(message.contains("'bad.npy' has a malformed .npy header"))
        #expect(message.contains(problem), "message: \(message)")
        #expect(message.contains("np.save"))
    }

    @Test func refusesAnUnclosedString() {
        let dict = "{'descr': '<f4\n, 'fortran_order': False, 'shape': (2, 3)}"
        let message = npyErrorMessage { _ = try NpyHeader(parsing: NpyBytes.file(dict: dict)) }
        #expect(message.contains("a string is not closed (at byte 10 of the dict"))
        #expect(message.contains("'<f4\\n, 'fortran_order'"))  // control characters are escaped
    }

    @Test(arguments: [
        ("<i4", "int32"), ("<i8", "int64"), ("|u1", "uint8"), ("|b1", "bool"), ("|?", "bool"), ("<c8", "complex64"),
        ("<f16", "float128"), ("<U10", "str"), ("|S4", "bytes"), ("<M8[ns]", "datetime64"), ("|V2", "void"),
        ("<i", "int32"), ("<z3", "an unknown dtype"),
    ])
    func refusesNonFloatDTypes(descr: String, name: String) {
        let dict = NpyBytes.dict(descr: descr, shape: "(2, 3)")
        let message = npyErrorMessage { _ = try NpyHeader(parsing: NpyBytes.file(dict: dict), path: "acts.npy") }
        #expect(message.contains("activations must be float16, float32 or float64; got \(name)"), "message: \(message)")
        #expect(message.contains("('\(descr)')"))
        #expect(message.contains("a.astype(np.float32)"))
    }

    @Test func refusesObjectArraysWithTheirOwnHint() {
        let dict = NpyBytes.dict(descr: "|O", shape: "(2, 3)")
        let message = npyErrorMessage { _ = try NpyHeader(parsing: NpyBytes.file(dict: dict)) }
        #expect(message.contains("got object ('|O')"))
        #expect(message.contains("np.asarray(a, dtype=np.float32)"))
    }

    @Test func refusesStructuredDTypes() {
        let dict = "{'descr': [('x', '<f4'), ('y', '<i8', (2,))], 'fortran_order': False, 'shape': (3,), }"
        let message = npyErrorMessage { _ = try NpyHeader(parsing: NpyBytes.file(dict: dict)) }
        #expect(message.contains("got a structured dtype [('x', '<f4'), ('y', '<i8', (2,))]"))
        #expect(message.contains("a['field']"))
    }

    @Test func refusesAScalarArray() {
        let dict = NpyBytes.dict(descr: "<f4", shape: "()")
        let message = npyErrorMessage { _ = try NpyHeader(parsing: NpyBytes.file(dict: dict), path: "s.npy") }
        #expect(message.contains("'s.npy' holds a 0-d (scalar) array"))
        #expect(message.contains("(batch, features)"))
    }

    @Test(arguments: [
        ("(-1, 3)", "dimension -1 is negative"),
        ("(3, -2)", "dimension -2 is negative"),
        ("(99999999999999999999, 3)", "dimension 99999999999999999999 is too large"),
        ("(4294967296, 4294967296)", "more elements than fit in memory"),
        ("(2305843009213693952, 2)", "its data needs more bytes than fit in memory"),
        ("(" + String(repeating: "1, ", count: 65) + ")", "more than 64 dimensions"),
    ])
    func refusesAbsurdShapes(shape: String, problem: String) {
        let dict = NpyBytes.dict(descr: "<f4", shape: shape)
        let message = npyErrorMessage { _ = try NpyHeader(parsing: NpyBytes.file(dict: dict)) }
        #expect(message.contains("has an invalid shape"))
        #expect(message.contains(problem), "message: \(message)")
    }
}
