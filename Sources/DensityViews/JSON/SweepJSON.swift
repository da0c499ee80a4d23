internal import DensityMetric
package import DensityStore
package import Foundation

/// The sweep table's JSON (`density runs --format json`): one object per run, every number from
/// the stored summaries (no counts decoded).
package enum SweepJSON {
    /// A run's row with where it was read from.
    package struct Entry {
        /// The name the run is shown by (`name@store` when two stores hold that name).
        package let name: String
        /// The store's path.
        package let store: String
        /// The store's mirror origin, when it is a mirror.
        package let mirror: MirrorOrigin?
        /// The row.
        package let row: SweepRow

        /// An entry.
        package init(name: String, store: String, mirror: MirrorOrigin?, row: SweepRow) {
            self.name = name
            self.store = store
            self.mirror = mirror
            self.row = row
        }
    }

    /// The entries of rows read from several stores (`store` an index into `names.paths`, whose
    /// mirror origins are `mirrors`): a run name two stores hold shown as `name@store`, sorted by name.
    package static func entries(_ rows: [(store: Int, row: SweepRow)], names: StoreNames, mirrors: [MirrorOrigin?]) -> [Entry] {
        let clashes = StoreNames.clashes(rows.map { ($0.store, $0.row.run.name) })
        return rows.map { store, row in
            let path = names.paths[store]
            return Entry(name: names.displayName(row.run.name, at: path, clashes: clashes), store: path, mirror: mirrors[store], row: row)
        }.sorted { $0.name < $1.name }
    }

    /// The most points of a run's dead and dense fractions in `trail`: evenly spaced checkpoints,
    /// the first and the latest included.
    package static let trailPoints = 64

    /// `[{"name","run","store","features","components","checkpoints","latest_step","vectors",
    /// "world_size","pending_steps","fire_threshold","meta","dead":{"count","fraction"},"dense":{"count","fraction"},
    /// "mean_log10_density","created_at","latest_checkpoint_at","rate":{"steps_per_second",
    /// "checkpoints_per_minute"},"trail":[[step,dead_fraction,dense_fraction],...],"mirror":
    /// {"source","snapshot_at","age_seconds"}}]`. Absent values are null.
    /// - Parameters:
    ///   - entries: The runs.
    ///   - now: The time mirror ages are measured at.
    package static func runs(_ entries: [Entry], now: Date = Date()) -> JSONValue {
        .array(entries.map { entry in
            let row = entry.row
            func share(_ count: Int?) -> JSONValue {
                guard let count else { return .null }
                return .object([("count", .int(Int64(count))), ("fraction", .double(row.fraction(count)))])
            }
            let rateJSON: JSONValue = Self.rate(row).map {
                .object([("steps_per_second", .double($0.steps)), ("checkpoints_per_minute", .double($0.checkpoints))])
            } ?? .null
            let trailJSON: [JSONValue] = Self.trail(row).map { point in
                let dead: JSONValue = point.dead.map { .double(row.fraction($0)) } ?? .null
                let dense: JSONValue = point.dense.map { .double(row.fraction($0)) } ?? .null
                return .array([.int(point.step), dead, dense])
            }
            let mirror: JSONValue = entry.mirror.map { origin in
                .object([("source", .string(origin.source)), ("snapshot_at", .string(origin.snapshotAt.formatted(.iso8601))),
                         ("age_seconds", .double(origin.age(at: now)))])
            } ?? .null
            var pairs: [(String, JSONValue)] = [
                ("name", .string(entry.name)), ("run", .string(row.run.name)), ("store", .string(entry.store)),
                ("features", .int(Int64(row.run.features))), ("components", JSONValue.int(row.run.components)),
                ("checkpoints", .int(Int64(row.checkpointCount))),
            ]
            pairs.append(("latest_step", row.latest.map { .int($0.step) } ?? .null))
            pairs.append(("vectors", .int(row.latest?.vectors ?? 0)))
            pairs.append(("world_size", .int(Int64(row.run.worldSize))))
            pairs.append(("pending_steps", .int(Int64(row.pendingSteps))))
            pairs.append(("fire_threshold", .double(row.run.fireThreshold)))
            pairs.append(("meta", meta(row.run.metadata)))
            pairs.append(("dead", share(row.summary?.dead)))
            pairs.append(("dense", share(row.summary?.dense)))
            pairs.append(("mean_log10_density", row.meanLog10Density.map { .double($0) } ?? .null))
            pairs.append(("created_at", .string(row.run.createdAt)))
            pairs.append(("latest_checkpoint_at", row.latest.map { .string($0.wallTime) } ?? .null))
            pairs.append(("rate", rateJSON))
            pairs.append(("trail", .array(trailJSON)))
            pairs.append(("mirror", mirror))
            return .object(pairs)
        })
    }

    /// Up to ``trailPoints`` of a run's points, evenly spaced by index, the first and latest included.
    package static func trail(_ row: SweepRow, points: Int = trailPoints) -> [SweepRow.Point] {
        let all = row.points
        guard all.count > points, points > 1 else { return all }
        return (0..<points).map { all[$0 * (all.count - 1) / (points - 1)] }
    }

    /// The recording rate over the run's life, from its first to its latest checkpoint's wall
    /// time: steps a second and checkpoints a minute; `nil` with fewer than two checkpoints or no
    /// time between them.
    package static func rate(_ row: SweepRow) -> (steps: Double, checkpoints: Double)? {
        guard let first = row.first, let latest = row.latest, row.checkpointCount > 1,
              let start = wallTime(first.wallTime), let end = wallTime(latest.wallTime) else { return nil }
        let seconds = end.timeIntervalSince(start)
        guard seconds > 0 else { return nil }
        return (Double(latest.step - first.step) / seconds, Double(row.checkpointCount - 1) / (seconds / 60))
    }

    /// A stored wall time (ISO 8601 UTC, with or without fractional seconds) as a date.
    package static func wallTime(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle()))
    }

    /// A run's meta JSON as a value (keys sorted), or null without one.
    package static func meta(_ text: String?) -> JSONValue {
        guard let text, let value = try? JSONDecoder().decode(Meta.self, from: Data(text.utf8)) else { return .null }
        return value.json
    }

    /// Any JSON value, decoded.
    private enum Meta: Decodable {
        case null, bool(Bool), int(Int64), double(Double), string(String), array([Meta]), object([String: Meta])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Int64.self) { self = .int(value) }
            else if let value = try? container.decode(Double.self) { self = .double(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([Meta].self) { self = .array(value) }
            else { self = .object(try container.decode([String: Meta].self)) }
        }

        var json: JSONValue {
            switch self {
            case .null: .null
            case .bool(let value): .bool(value)
            case .int(let value): .int(value)
            case .double(let value): .double(value)
            case .string(let value): .string(value)
            case .array(let items): .array(items.map(\.json))
            case .object(let pairs): .object(pairs.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) })
            }
        }
    }
}
