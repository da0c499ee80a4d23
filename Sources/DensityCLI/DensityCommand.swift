import ArgumentParser

@main
struct DensityCommand: ParsableCommand {}
