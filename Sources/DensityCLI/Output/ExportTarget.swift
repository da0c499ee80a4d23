import Foundation

/// Where an `--out` or `--svg` file goes, decided once before any work, by what is at the path:
///
/// - nothing, or a regular file (only with `force`): written under a temporary name in the same
///   folder and moved into place only once complete, so a failed write never leaves a partial
///   file. Without `force` the move is a hard link, which fails if a file of that name appeared
///   meanwhile (on file systems without hard links, a check and a rename);
/// - a symbolic link to a regular file: the same, at the file the link resolves to; the link stays;
/// - a FIFO, a character device (a terminal, /dev/null), or a link into /proc such as /dev/stdout
///   (an open file of this process): written through, never renamed over;
/// - `-`: stdout;
/// - a folder, a socket, a block device or a dangling link: refused, saying why.
///
/// Binary output (`binary`) goes to stdout or a written-through device only when it is not a
/// terminal.
struct ExportTarget {
    /// How the bytes reach the path.
    enum Kind: Equatable {
        /// A temporary file renamed (or linked) to ``ExportTarget/file``.
        case atomic
        /// The path opened and written into as it is; the reason says what it is.
        case writeThrough(String)
        /// File descriptor 1.
        case standardOutput
    }

    /// The path as given.
    let path: String
    let force: Bool
    let kind: Kind
    /// The file an atomic write replaces: ``path``, or the regular file a link resolves to.
    let file: String
    /// Whether the bytes are binary (npy, safetensors), which a terminal must not receive.
    let binary: Bool
    /// For a link to one of this process's descriptors (/dev/stdout -> /proc/self/fd/1): that
    /// descriptor, written as it is.
    private var openDescriptor: Int32?
    /// The option, for messages: `--out` or `--svg`.
    let option: String
    /// What cut a write through short once some of its bytes had gone out (see ``write(_:)``).
    private let cutShort = CutShort()

    /// The error that stopped a write through after some of its bytes had gone out, kept by
    /// every copy of the target.
    private final class CutShort {
        var error: (any Error)?
    }

    /// What the path is called in messages: the path, or "stdout".
    var name: String { kind == .standardOutput ? "stdout" : path }

    /// Checks the path: what is there decides how it is written (see ``ExportTarget``).
    /// - Parameters:
    ///   - path: The path given, `-` for stdout.
    ///   - force: Whether an existing regular file may be replaced.
    ///   - binary: Whether the output is binary.
    ///   - option: The option's name, for messages.
    /// - Throws: ``CLIError`` naming the problem and what to do.
    init(path: String, force: Bool, binary: Bool = false, option: String = "--out") throws {
        self.path = path
        self.force = force
        self.binary = binary
        self.option = option
        if path == "-" {
            if binary, isatty(STDOUT_FILENO) == 1 {
                throw CLIError("\(option) - would write binary data to the terminal; redirect stdout to a file or a pipe (> file, | python ...), or give \(option) FILE")
            }
            (kind, file) = (.standardOutput, path)
            return
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            try Self.checkFolder(of: path, option: option)
            guard !Self.split(path).name.isEmpty else { throw CLIError("\(option) '\(path)' ends with '/'; give a file name") }
            (kind, file) = (.atomic, path)
            return
        }
        var type = info.st_mode & S_IFMT
        var file = path
        var through = ""
        if type == S_IFLNK {
            let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
            guard stat(path, &info) == 0 else {
                throw CLIError("\(option) '\(path)' is a symbolic link to '\(destination)', which does not exist; give the path it should point to, or remove the link")
            }
            type = info.st_mode & S_IFMT
            if let target = Self.procTarget(path) {
                // /dev/stdout and the like name a file this process already has open: writing
                // through its descriptor keeps its position and append mode.
                (kind, self.file) = (.writeThrough("a link into /proc, an open file of this process"), path)
                openDescriptor = Self.ownDescriptor(target)
                return
            }
            through = " (the file the symbolic link '\(path)' points to)"
            guard type != S_IFREG || realpath(path, nil).map({ resolved in
                defer { free(resolved) }
                file = String(cString: resolved)
                return true
            }) == true else {
                throw CLIError("cannot resolve the symbolic link \(option) '\(path)': \(Self.lastError())")
            }
        }
        switch type {
        case S_IFREG:
            if !force { throw CLIError("'\(path)' exists already\(through); pass --force to replace it") }
            (kind, self.file) = (.atomic, file)
        case S_IFDIR:
            throw CLIError("\(option) '\(path)' is a folder; give a file name, such as '\(path.hasSuffix("/") ? path : path + "/")density.npy'")
        case S_IFIFO:
            (kind, self.file) = (.writeThrough("a FIFO"), path)
        case S_IFCHR:
            (kind, self.file) = (.writeThrough("a character device"), path)
        case S_IFSOCK:
            throw CLIError("\(option) '\(path)' is a socket, which cannot be written as a file; give a file name, or \(option) - to write to stdout and pipe it")
        default:
            throw CLIError("\(option) '\(path)' is a block device; density writes only files, FIFOs and character devices")
        }
    }

    /// Writes through `body`: into a temporary file then moved into place, or straight into a
    /// FIFO, device or stdout.
    ///
    /// Bytes that went out into a FIFO, device or stdout cannot be taken back: once such a write
    /// failed after some had, every later write fails with the same error, so a question asked
    /// again (as a mirror's reader does when the mirror is replaced under it) never appends a whole
    /// answer to a cut-short one.
    /// - Returns: The number of bytes written.
    /// - Throws: What `body` throws, or ``CLIError`` on an I/O error; a temporary file is then removed.
    func write(_ body: (ExportFile) throws -> Void) throws -> Int {
        switch kind {
        case .standardOutput:
            return try writeThrough(STDOUT_FILENO, body)
        case .writeThrough(let what):
            if let openDescriptor {
                if binary, isatty(openDescriptor) == 1 {
                    throw CLIError("\(option) '\(path)' is a terminal; binary data is not written to one. Give \(option) FILE, or \(option) - and redirect stdout")
                }
                return try writeThrough(openDescriptor, body)
            }
            let descriptor = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
            guard descriptor >= 0 else {
                throw CLIError("cannot open \(option) '\(path)' (\(what)) to write into it: \(Self.lastError())")
            }
            defer { close(descriptor) }
            if binary, isatty(descriptor) == 1 {
                throw CLIError("\(option) '\(path)' is a terminal; binary data is not written to one. Give \(option) FILE, or \(option) - and redirect stdout")
            }
            return try writeThrough(descriptor, body)
        case .atomic:
            return try writeAtomically(body)
        }
    }

    /// A note for the closing message when the path was not written as a plain file: "" otherwise.
    var note: String {
        switch kind {
        case .atomic: file == path ? "" : "; written to '\(file)', the file the link points to (the link is kept)"
        case .writeThrough(let what): "; written into it, as it is \(what) (not replaced)"
        case .standardOutput: ""
        }
    }

    private func writeThrough(_ descriptor: Int32, _ body: (ExportFile) throws -> Void) throws -> Int {
        if let error = cutShort.error { throw error }
        let file = ExportFile(descriptor: descriptor, path: name)
        do {
            try body(file)
            try file.flush()
        } catch {
            if file.sent > 0 { cutShort.error = error }
            throw error
        }
        return file.written
    }

    private func writeAtomically(_ body: (ExportFile) throws -> Void) throws -> Int {
        let (folder, name) = Self.split(file)
        let temporary = (folder == "/" ? "" : folder) + "/.\(name).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw CLIError("cannot create a file in '\(folder)': \(Self.lastError()); check the folder's permissions")
        }
        let output = ExportFile(descriptor: descriptor, path: path)
        var closed = false
        do {
            try body(output)
            try output.flush()
            guard fsync(descriptor) == 0 else { throw CLIError("cannot write '\(path)': \(Self.lastError())") }
            closed = true
            guard close(descriptor) == 0 else { throw CLIError("cannot write '\(path)': \(Self.lastError())") }
            try moveIntoPlace(temporary)
        } catch {
            if !closed { close(descriptor) }
            unlink(temporary)
            throw error
        }
        return output.written
    }

    /// Renames (with `force`) or links the finished temporary file to ``file``, then removes the
    /// temporary name.
    private func moveIntoPlace(_ temporary: String) throws {
        if !force {
            if link(temporary, file) == 0 {
                unlink(temporary)
                return
            }
            let code = errno
            if code == EEXIST { throw CLIError("'\(path)' was created while exporting; pass --force to replace it") }
            // No hard links here (some network and FAT file systems): check, then rename.
            var info = stat()
            if lstat(file, &info) == 0 {
                throw CLIError("'\(path)' was created while exporting; pass --force to replace it")
            }
        }
        guard rename(temporary, file) == 0 else {
            throw CLIError("cannot move the finished file to '\(file)': \(Self.lastError())")
        }
    }

    /// Refuses a path whose folder is missing or not a folder.
    /// - Throws: ``CLIError`` naming the folder and the option, and how to create it.
    static func checkFolder(of path: String, option: String) throws {
        let folder = split(path).folder
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw CLIError("the folder of \(option), '\(folder)', does not exist; create it first (mkdir -p '\(folder)')")
        }
        guard isDirectory.boolValue else {
            throw CLIError("the folder of \(option), '\(folder)', is not a folder")
        }
    }

    /// Where following the symbolic link `path` first enters /proc (as /dev/stdout ->
    /// /proc/self/fd/1 does), if it does: such links name files a process has open.
    private static func procTarget(_ path: String) -> String? {
        var current = path
        for _ in 0..<40 {
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return nil }
            let absolute = destination.hasPrefix("/") ? destination : split(current).folder + "/" + destination
            if absolute.hasPrefix("/proc/") { return absolute }
            current = absolute
        }
        return nil
    }

    /// The descriptor N of `/proc/self/fd/N` or `/proc/<this pid>/fd/N`; nil for another path.
    private static func ownDescriptor(_ procPath: String) -> Int32? {
        let parts = procPath.split(separator: "/")
        guard parts.count == 4, parts[0] == "proc", parts[1] == "self" || parts[1] == Substring(String(getpid())),
              parts[2] == "fd", let descriptor = Int32(parts[3]) else { return nil }
        return fcntl(descriptor, F_GETFD) == -1 ? nil : descriptor
    }

    /// The folder a path is in ("." for a bare name) and the name after the last slash (empty
    /// when the path ends in one). Linux Foundation's `NSString` path methods trap on some inputs
    /// such as ".", so this is done by hand.
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
