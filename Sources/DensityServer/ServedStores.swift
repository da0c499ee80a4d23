import DensityStore
import DensityViews
import Foundation
import HTTPTypes

/// The stores the server reads, one ``StorePool`` each, named as `density runs` names them
/// (``StoreNames``: `name@store` when two stores hold a run of that name). A store that cannot be
/// read (missing, mid-copy, damaged) is reported by ``stores()`` and skipped by ``runs()``; the
/// others are still answered. With one store, every answer is that store's, errors included.
final class ServedStores: Sendable {
    /// One pool per store, in the order given.
    let pools: [StorePool]
    /// The stores' names.
    let names: StoreNames

    /// Pools of at most `readers` handles on each of `paths`; nothing is opened yet.
    init(paths: [String], readers: Int) {
        pools = paths.map { StorePool(path: $0, size: readers) }
        names = StoreNames(paths: paths)
    }

    /// Whether the server reads several stores.
    var isSeveral: Bool { pools.count > 1 }

    /// Each store's sweep rows and mirror origin, or what reading it threw, store by store.
    private func sweeps() async -> [Result<(origin: MirrorOrigin?, rows: [SweepRow]), any Error>] {
        var results: [Result<(origin: MirrorOrigin?, rows: [SweepRow]), any Error>] = []
        for pool in pools {
            do {
                results.append(.success(try await pool.read { store in
                    try store.read { (origin: try $0.mirrorOrigin(), rows: try $0.sweep()) }
                }))
            } catch {
                results.append(.failure(error))
            }
        }
        return results
    }

    /// `GET /api/runs` = `density runs --format json` over the same stores: the runs of every
    /// store that can be read.
    /// - Throws: The only store's error when one store is served.
    func runs() async throws -> JSONValue {
        let read = await sweeps()
        var rows: [(store: Int, row: SweepRow)] = [], mirrors: [MirrorOrigin?] = []
        for (index, result) in read.enumerated() {
            switch result {
            case let .success(sweep):
                rows += sweep.rows.map { (index, $0) }
                mirrors.append(sweep.origin)
            case let .failure(error):
                if !isSeveral { throw error }
                mirrors.append(nil)
            }
        }
        return SweepJSON.runs(SweepJSON.entries(rows, names: names, mirrors: mirrors))
    }

    /// `GET /api/stores`: `[{"path","label","readable","runs","error"}]`, one per store in the
    /// order given; `error` (null when readable) says why a store is skipped.
    func stores() async -> JSONValue {
        let read = await sweeps()
        return .array(zip(names.paths, read).map { path, result in
            var pairs: [(String, JSONValue)] = [("path", .string(path)), ("label", .string(names.label(of: path)))]
            switch result {
            case let .success(sweep):
                pairs += [("readable", .bool(true)), ("runs", .int(Int64(sweep.rows.count))), ("error", .null)]
            case let .failure(error):
                pairs += [("readable", .bool(false)), ("runs", .null), ("error", .string(Self.reason(error)))]
            }
            return .object(pairs)
        })
    }

    /// The pool holding the run a path names (`name`, or `name@store` to pick one of several
    /// stores), and the run's own name. With one store, the name as given: that store's errors
    /// say what is wrong with it.
    /// - Throws: ``RequestError`` (404) when no store, or several, hold it.
    func locate(_ name: String) async throws -> (pool: StorePool, run: String) {
        guard isSeveral else { return (pools[0], name) }
        let candidates = names.candidates(name)
        var existing: [StoreNames.Candidate] = []
        for candidate in candidates
        where (try? await pools[candidate.store].read({ store in try store.read { try $0.run(named: candidate.run) } })) != nil {
            existing.append(candidate)
        }
        switch names.locate(name, holding: existing) {
        case let .found(store, run):
            return (pools[store], run)
        case let .ambiguous(choices):
            throw RequestError(.notFound, "run '\(name)' is in \(choices.count) stores; name one: \(choices.map { "'\($0)'" }.joined(separator: ", "))")
        case .missing:
            throw RequestError(.notFound, "no run '\(name)' in the \(pools.count) stores served (a store that cannot be read is skipped); /api/runs lists the runs")
        }
    }

    /// Why `error` stopped a read, in words: the text its answer carries.
    private static func reason(_ error: any Error) -> String {
        switch error {
        case let error as RequestError: error.message
        case let error as any DensityProblem: error.description
        case let error as any CustomStringConvertible: error.description
        default: "\(error)"
        }
    }
}
