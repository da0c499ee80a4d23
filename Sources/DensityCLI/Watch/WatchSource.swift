import DensityStore
import Foundation

/// The store `density watch` reads, followed by its path: new checkpoints are read when SQLite
/// says something was committed, and a store deleted or replaced by another file (another device
/// and inode at the path) is noticed, said on screen, and followed: the new file is opened, or,
/// while there is none, the view waits for one to appear.
struct WatchSource {
    /// The store's path, as given.
    let path: String
    /// The run shown.
    let run: String
    /// The last window's length in checkpoint intervals.
    let last: Int
    /// How many risers and fallers to list.
    let top: Int
    /// Seconds between looks, for the messages.
    let interval: Double

    /// The open store, or `nil` while there is no file at the path.
    private var store: DensityStore?
    /// The file the open store was opened from.
    private var identity: StoreFileIdentity?
    /// A file at the path that could not be opened as a store, so that it is said once.
    private var unreadable: StoreFileIdentity?
    /// SQLite's data version when the frame was read.
    private var version: Int64 = 0
    /// The frame to draw.
    private(set) var frame: WatchFrame

    /// Opens the store and reads the first frame.
    /// - Throws: What opening the store or reading the run throws (no such run, a damaged store).
    init(path: String, run: String, last: Int, top: Int, interval: Double) throws {
        self.path = path
        self.run = run
        self.last = last
        self.top = top
        self.interval = interval
        // The identity is taken before opening: a file replaced in between is seen as replaced
        // on the next look (and opened again), never missed.
        identity = StoreFileIdentity(path: path)
        let store = try StoreOptions.openForReading(at: path)
        version = try store.dataVersion()
        frame = try WatchFrame.load(store: store, run: run, last: last, top: top)
        self.store = store
    }

    /// Looks at the store once: follows a replaced file, notices a deleted one, and reads a new
    /// frame when something was committed.
    /// - Parameter now: The time the notices give.
    /// - Returns: Whether the frame shows something new: other checkpoints or pending steps, or
    ///   a notice about the store's file.
    mutating func poll(now: Date = Date()) -> Bool {
        let current = StoreFileIdentity(path: path)
        guard let current else {
            guard store != nil else { return false }  // said already; still waiting
            store = nil
            identity = nil
            frame.notice = "store deleted at \(Self.clock(now)): the figures are its last; waiting for a store at '\(path)'"
            return true
        }
        if current != identity { return follow(current, now: now) }
        guard let store else { return false }
        do {
            let latest = try store.dataVersion()
            guard latest != version else { return false }
            let next = try WatchFrame.load(store: store, run: run, last: last, top: top)
            version = latest
            let changed = next.key != frame.key
            // A notice stays until the view shows other data than when it was given.
            let notice = changed ? nil : frame.notice
            frame = next
            frame.notice = notice
            return changed
        } catch {
            frame.problem = "reading the store failed, retrying every \(Console.format(interval)) s: \(ErrorText.render(error))"
            return false
        }
    }

    /// Opens the file now at the path, which is not the one read so far, and reads the run from it.
    private mutating func follow(_ current: StoreFileIdentity, now: Date) -> Bool {
        let what = (store == nil ? "store appeared at " : "store replaced by another file at ") + Self.clock(now)
        let next: DensityStore
        do {
            next = try StoreOptions.openForReading(at: path)
            version = try next.dataVersion()
        } catch {
            // Not a readable store yet (still being created or copied): try again next time.
            guard unreadable != current else { return false }
            unreadable = current
            frame.notice = "\(what): not readable yet, retrying every \(Console.format(interval)) s: \(ErrorText.render(error))"
            return true
        }
        store = next
        identity = current
        do {
            frame = try WatchFrame.load(store: next, run: run, last: last, top: top)
            frame.notice = "\(what): following it ('\(path)')"
        } catch {
            frame.notice = "\(what): waiting for run '\(run)' in it (the figures are the old store's): \(ErrorText.render(error))"
            version = -1  // read again on the next look, whatever SQLite says
        }
        return true
    }

    /// `13:04:05 UTC`.
    static func clock(_ date: Date) -> String {
        String(date.formatted(.iso8601).dropFirst(11).prefix(8)) + " UTC"
    }
}
