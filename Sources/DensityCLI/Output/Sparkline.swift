/// A series drawn in one line of text: eight levels of block, a space where there is no value.
enum Sparkline {
    /// The eight levels, lowest first.
    static let levels = Array("▁▂▃▄▅▆▇█")

    /// Draws `values` scaled linearly between their smallest and largest; `nil` is a space. When
    /// every value is the same, each is drawn at the top level.
    /// - Returns: One character per value, or `nil` when no value is present.
    static func draw(_ values: [Double?]) -> String? {
        let present = values.compactMap { $0 }
        guard let low = present.min(), let high = present.max() else { return nil }
        return String(values.map { value in
            guard let value else { return " " }
            let position = high > low ? (value - low) / (high - low) : 1
            return levels[min(levels.count - 1, Int(position * Double(levels.count - 1) + 0.5))]
        })
    }
}
