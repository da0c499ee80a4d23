/// Why a tensor's shape has no element count: a negative dimension, or more elements than fit in
/// memory. The one check behind `.npy` headers (``NpyHeader``) and tensor writers (``NpyWriter``);
/// each wraps ``reason`` in its own error, naming its file or tensor.
struct ShapeProblem: Error, Sendable, Hashable {
    /// What is wrong, e.g. "dimension -1 is negative".
    let reason: String

    /// The number of elements of `shape`: the product of its dimensions (1 for `[]`).
    /// - Throws: ``ShapeProblem`` for a negative dimension or a product past `Int.max`.
    static func elementCount(of shape: [Int]) throws(ShapeProblem) -> Int {
        if let negative = shape.first(where: { $0 < 0 }) {
            throw ShapeProblem(reason: "dimension \(negative) is negative")
        }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw ShapeProblem(reason: "it has more elements than fit in memory") }
            count = product
        }
        return count
    }
}
