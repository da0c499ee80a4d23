// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "feature-density",
    platforms: [.macOS(.v15)],  // only matters off Linux (Synchronization.Mutex)
    products: [
        .library(name: "DensityMetric", targets: ["DensityMetric"]),
        .library(name: "DensityFormats", targets: ["DensityFormats"]),
        .library(name: "DensityStore", targets: ["DensityStore"]),
        .library(name: "DensityWorkload", targets: ["DensityWorkload"]),
        .executable(name: "density", targets: ["DensityCLI"]),
        // The local web UI, a separate product so that `density` never compiles the HTTP stack.
        .executable(name: "density-serve", targets: ["DensityServer"]),
        .executable(name: "density-bench", targets: ["DensityBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Only `density-serve` uses it; without its default traits it needs no swift-configuration.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    ],
    targets: [
        // The system SQLite (Debian: libsqlite3-dev), through a module map.
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),
        // The system zstd (Debian: libzstd-dev), compressing checkpoint chunks.
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        // The system zlib (Debian: zlib1g-dev): inflating the deflated entries of .npz archives, and
        // the CRC-32 of every stored chunk.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // statfs from the C library (the overlays leave it out), telling a store's file-system type.
        .systemLibrary(name: "CFileSystem"),
        // mallopt from the C library (the overlays leave it out), so `density record` reuses freed states.
        .systemLibrary(name: "CMalloc"),
        // The metric engine: exact counts, no storage.
        .target(name: "DensityMetric"),
        // Deterministic synthetic SAE activations, for the demo, the benchmark and tests.
        .target(name: "DensityWorkload"),
        // Readers and writers of the files users bring: .npy, .npz, .safetensors, SAELens sparsity.
        .target(name: "DensityFormats", dependencies: ["DensityMetric", "CZlib"]),
        // The SQLite store: schema (Migrations/), codecs, queries.
        .target(
            name: "DensityStore",
            dependencies: ["DensityMetric", "CSQLite", "CZstd", "CZlib", "CFileSystem"],
            plugins: ["EmbedMigrations"]
        ),
        // Compiles Migrations/*.sql into the store, so the binary needs no resource bundle.
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),
        // What the CLI and the web UI show, without I/O: the JSON answers of the queries, the
        // report's SVG panels, step specs. No HTTP code.
        .target(name: "DensityViews", dependencies: ["DensityMetric", "DensityFormats", "DensityStore"]),
        // The `density` command-line tool.
        .executableTarget(
            name: "DensityCLI",
            dependencies: [
                "DensityMetric", "DensityFormats", "DensityStore", "DensityWorkload", "DensityViews", "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `density-serve`: the read-only local web UI and JSON API, on Hummingbird.
        .executableTarget(
            name: "DensityServer",
            dependencies: [
                "DensityMetric", "DensityStore", "DensityViews", "CMalloc",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "DensityBench",
            dependencies: ["DensityMetric", "DensityFormats", "DensityStore", "DensityWorkload"],
            path: "Benchmarks/DensityBench"
        ),
        .testTarget(name: "DensityMetricTests", dependencies: ["DensityMetric"]),
        .testTarget(
            name: "DensityFormatsTests",
            dependencies: ["DensityFormats", "DensityMetric", "DensityWorkload"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "DensityStoreTests", dependencies: ["DensityStore", "DensityMetric", "DensityWorkload"]),
        .testTarget(
            name: "DensityCLITests",
            dependencies: ["DensityCLI", "DensityFormats", "DensityStore", "DensityMetric", "DensityWorkload", "DensityViews"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
