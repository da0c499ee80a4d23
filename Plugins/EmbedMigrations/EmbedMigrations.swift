import Foundation
import PackagePlugin

/// Compiles the package's `Migrations/*.sql` into the target as a Swift source file, so that
/// `Migrations/` stays the single source of truth and a `density` binary copied anywhere still
/// carries its schema.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "Migrations")
        let files = try FileManager.default
            .contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrationFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) migrations from Migrations/",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [folder.path(), output.path()],
                inputFiles: [folder] + files,
                outputFiles: [output]
            )
        ]
    }
}
