import Foundation

/// The `--out` file: checked before any work, written under a temporary name in the same folder,
/// and moved into place only once complete, so a failed export never leaves a partial file.
///
/// Without `force` the move is a hard link, which fails if a file of that name appeared meanwhile
/// (on file systems without hard links, a check and a rename).
struct ExportTarget {
    let path: String
    let force: Bool

    /// Checks that the folder exists and that the file does not, unless `force`.
    /// - Throws: ``CLIError`` naming the problem.
    init(path: String, force: Bool) throws {
        let folder = Self.split(path).folder
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw CLIError("the folder of --out, '\(folder)', does not exist; create it first (mkdir -p '\(folder)')")
        }
        guard isDirectory.boolValue else {
            throw CLIError("the folder of --out, '\(folder)', is not a folder")
        }
        if Self.exists(path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw CLIError("--out '\(path)' is a folder; give a file name, such as '\(path.hasSuffix("/") ? path : path + "/")density.npy'") }
            if !force { throw CLIError("'\(path)' exists already; pass --force to replace it") }
        }
        guard !Self.split(path).name.isEmpty else { throw CLIError("--out '\(path)' ends with '/'; give a file name") }
        self.path = path
        self.force = force
    }

    /// Writes the file through `body`, then moves it into place.
    /// - Returns: The number of bytes written.
    /// - Throws: What `body` throws, or ``CLIError`` on an I/O error; the temporary file is then removed.
    func write(_ body: (ExportFile) throws -> Void) throws -> Int {
        let (folder, name) = Self.split(path)
        let temporary = (folder == "/" ? "" : folder) + "/.\(name).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw CLIError("cannot create a file in '\(folder)': \(Self.lastError()); check the folder's permissions")
        }
        let file = ExportFile(descriptor: descriptor, path: path)
        var closed = false
        do {
            try body(file)
            try file.flush()
            guard fsync(descriptor) == 0 else { throw CLIError("cannot write '\(path)': \(Self.lastError())") }
            closed = true
            guard close(descriptor) == 0 else { throw CLIError("cannot write '\(path)': \(Self.lastError())") }
            try moveIntoPlace(temporary)
        } catch {
            if !closed { close(descriptor) }
            unlink(temporary)
            throw error
        }
        return file.written
    }

    /// Renames (with `force`) or links the finished temporary file to ``path``, then removes the
    /// temporary name.
    private func moveIntoPlace(_ temporary: String) throws {
        if !force {
            if link(temporary, path) == 0 {
                unlink(temporary)
                return
            }
            let code = errno
            if code == EEXIST { throw CLIError("'\(path)' was created while exporting; pass --force to replace it") }
            // No hard links here (some network and FAT file systems): check, then rename.
            var isDirectory: ObjCBool = false
            if Self.exists(path, isDirectory: &isDirectory) {
                throw CLIError("'\(path)' was created while exporting; pass --force to replace it")
            }
        }
        guard rename(temporary, path) == 0 else {
            throw CLIError("cannot move the finished file to '\(path)': \(Self.lastError())")
        }
    }

    /// The folder a path is in ("." for a bare name) and the name after the last slash (empty
    /// when the path ends in one). Linux Foundation's `NSString` path methods trap on some inputs
    /// such as ".", so this is done by hand.
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    /// Whether anything is at `path`, a dangling symbolic link included.
    static func exists(_ path: String, isDirectory: inout ObjCBool) -> Bool {
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return true }
        isDirectory = false
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
