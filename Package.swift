// swift-tools-version:6.0
import Foundation
import PackageDescription
#if canImport(Glibc)
import Glibc
#endif

/// lld, which Swift's Linux toolchains ship, where it is on the PATH; otherwise Swift's default.
/// With lld the position-independent binary's 2.9 MB of start-up relocations are packed into
/// 24 KB (`-z pack-relative-relocs`): gold's table was read once by the loader and then stayed
/// resident for as long as the proxy ran. Idle with the UT1 lists, about 5.5 MB less resident.
/// Packed relocations need glibc 2.36 (Debian 12) to load: on an older one the binary would not
/// start, so there they are left out.
///
/// lld also lays out the functions that start-up and the proxy's ordinary work run side by side,
/// in the order `Sources/SchoolgateCLI/schoolgate.order` gives (written by
/// `Benchmarks/link/symbol_order.sh`): they are 2 MB of the binary's 26 MB of code, and scattered
/// among the rest they had the kernel map 18 MB of it. (lld moves only whole sections, and a
/// package's file puts most of its functions in one section unless built with
/// `-function-sections`, which only the command line, not a manifest, can give the packages we
/// depend on: so 10 MB are still mapped.)
/// A function renamed since the file was written is placed as it was before: a stale file costs
/// memory, never correctness.
let schoolgateLinkerFlags: [String] = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    guard path.split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/ld.lld") }) else { return [] }
    let order = ["-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/SchoolgateCLI/schoolgate.order",
                 "-Xlinker", "--no-warn-symbol-ordering"]
    return ["-use-ld=lld"] + order + (glibcReadsPackedRelocations ? ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"] : [])
}()

/// glibc 2.36 or later on the machine that builds (and, as the README installs it, runs) the proxy.
var glibcReadsPackedRelocations: Bool {
    #if canImport(Glibc)
    var buffer = [CChar](repeating: 0, count: 64)
    guard confstr(2 /* _CS_GNU_LIBC_VERSION: "glibc 2.36" */, &buffer, buffer.count) > 0 else { return false }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let version = text.split(separator: " ").last?.split(separator: ".").compactMap { Int($0) } ?? []
    return version.count >= 2 && (version[0], version[1]) >= (2, 36)
    #else
    return false
    #endif
}

let package = Package(
    name: "schoolgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "schoolgate", targets: ["SchoolgateCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
    ],
    targets: [
        // The filter's brain: plain values in, a decision out. No NIO, no files, no clock.
        .target(name: "SchoolgatePolicy"),
        // Reads the human-edited config and the list files into a compiled policy.
        .target(name: "SchoolgateConfig", dependencies: ["SchoolgatePolicy"]),
        // Stored visits, incidents and the audit trail: SQLite through GRDB (PostgreSQL later).
        .target(
            name: "SchoolgateStore",
            dependencies: [
                "SchoolgatePolicy",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The visit insert binds its columns with SQLite's own calls (VisitInsert.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "CSQLiteSettings",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // One process-wide SQLite setting, made through a C call that Swift cannot make itself.
        .target(name: "CSQLiteSettings", linkerSettings: [.linkedLibrary("sqlite3")]),
        // Outgoing HTTP(S) requests (webhook alerts, list downloads) on NIO, not URLSession.
        .target(
            name: "SchoolgateFetch",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Tells the DSL: incident alerts to a webhook or a command, with retries and a record.
        .target(
            name: "SchoolgateAlerts",
            dependencies: [
                "SchoolgatePolicy", "SchoolgateFetch",
                .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Who is browsing: local users with scrypt hashes, verified credentials, guest consents.
        .target(
            name: "SchoolgateIdentity",
            dependencies: [
                "SchoolgatePolicy",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The guests' captive page over HTTP and HTTPS, and the RFC 8908 captive portal API.
        .target(
            name: "SchoolgatePortal",
            dependencies: [
                "SchoolgatePolicy", "SchoolgateIdentity",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Carries bytes and asks the policy: HTTP forward proxy, CONNECT tunnels, ClientHello reading.
        .target(
            name: "SchoolgateProxy",
            dependencies: [
                "SchoolgatePolicy", "SchoolgateIdentity",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "SchoolgateCLI",
            dependencies: [
                "SchoolgatePolicy", "SchoolgateConfig", "SchoolgateProxy", "SchoolgateStore", "SchoolgateAlerts", "SchoolgateFetch",
                "SchoolgateIdentity", "SchoolgatePortal",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["schoolgate.order"],
            // Swift links executables with every symbol exported to the dynamic linker (3.4 MB of
            // symbol tables), which the loader then searches for every libc and libstdc++ symbol
            // at start-up. Nothing loads code into `schoolgate` that needs them; without them the
            // running proxy holds about 2 MB less. See `schoolgateLinkerFlags` for the linker.
            linkerSettings: [.unsafeFlags(schoolgateLinkerFlags + ["-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux]))]
        ),
        .executableTarget(
            name: "PolicyBenchmark",
            dependencies: ["SchoolgatePolicy", "SchoolgateConfig"],
            path: "Benchmarks/PolicyBenchmark"
        ),
        .executableTarget(
            name: "StoreBenchmark",
            dependencies: ["SchoolgateStore", "SchoolgatePolicy", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/StoreBenchmark"
        ),
        .executableTarget(
            name: "ProxyLoggingBenchmark",
            dependencies: [
                "SchoolgateProxy", "SchoolgateStore", "SchoolgateConfig", "SchoolgatePolicy",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ProxyLoggingBenchmark"
        ),
        .testTarget(name: "SchoolgatePolicyTests", dependencies: ["SchoolgatePolicy"]),
        .testTarget(
            name: "SchoolgateProxyTests",
            dependencies: [
                "SchoolgateProxy", "SchoolgateConfig", "SchoolgatePolicy", "SchoolgateIdentity", "SchoolgatePortal",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Support/origin.py", "Support/raw_client.py", "Support/tls_client.py", "Support/browser.py", "Fixtures"]
        ),
        // Drives the built `schoolgate` binary as a user would.
        .testTarget(name: "SchoolgateCLITests", dependencies: ["SchoolgateStore", "SchoolgatePolicy", "SchoolgateTestSupport"], exclude: ["Support/radius_client.py", "Support/netns_origin.py", "Support/steady_client.py"]),
        .testTarget(
            name: "SchoolgateAlertsTests",
            dependencies: ["SchoolgateAlerts", "SchoolgateStore", "SchoolgatePolicy", "SchoolgateTestSupport", .product(name: "Logging", package: "swift-log")],
            exclude: ["Support/webhook.py"]
        ),
        .testTarget(
            name: "SchoolgateFetchTests",
            dependencies: [
                "SchoolgateFetch", "SchoolgateTestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["Support/fetch_origin.py"]
        ),
        // Test helpers more than one test target needs (a real slapd of the test's own).
        .target(name: "SchoolgateTestSupport", path: "Tests/SchoolgateTestSupport"),
        .testTarget(
            name: "SchoolgateIdentityTests",
            dependencies: ["SchoolgateIdentity", "SchoolgatePolicy", "SchoolgateTestSupport", .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(name: "SchoolgatePortalTests", dependencies: ["SchoolgatePortal", "SchoolgateIdentity", "SchoolgatePolicy"]),
        .testTarget(name: "SchoolgateStoreTests", dependencies: ["SchoolgateStore", "SchoolgatePolicy", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "SchoolgateConfigTests",
            dependencies: ["SchoolgateConfig", "SchoolgatePolicy"],
            exclude: ["Fixtures"]
        ),
    ]
)
