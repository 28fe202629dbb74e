// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "schoolgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "schoolgate", targets: ["SchoolgateCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The filter's brain: plain values in, a decision out. No NIO, no files, no clock.
        .target(name: "SchoolgatePolicy"),
        // Reads the human-edited config and the list files into a compiled policy.
        .target(name: "SchoolgateConfig", dependencies: ["SchoolgatePolicy"]),
        .executableTarget(
            name: "SchoolgateCLI",
            dependencies: [
                "SchoolgatePolicy", "SchoolgateConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "PolicyBenchmark",
            dependencies: ["SchoolgatePolicy", "SchoolgateConfig"],
            path: "Benchmarks/PolicyBenchmark"
        ),
        .testTarget(name: "SchoolgatePolicyTests", dependencies: ["SchoolgatePolicy"]),
        .testTarget(
            name: "SchoolgateConfigTests",
            dependencies: ["SchoolgateConfig", "SchoolgatePolicy"],
            exclude: ["Fixtures"]
        ),
    ]
)
