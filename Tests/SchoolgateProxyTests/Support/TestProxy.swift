import Foundation
import Logging
import NIOCore
import Testing
@testable import SchoolgateConfig
@testable import SchoolgateProxy

/// Starts a proxy whose policy blocks `blocked.invalid` and lets tunnels reach the origin's port.
func withTestProxy(_ adjust: (inout ProxyConfiguration) -> Void = { _ in }, _ body: (Int, Origin) async throws -> Void) async throws {
    let origin = try Origin.shared.get()
    let directory = NSTemporaryDirectory() + "schoolgate-proxy-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try "blocked.invalid\n".write(toFile: directory + "/blocked", atomically: true, encoding: .utf8)
    try """
        [category gambling]
        domains = blocked
        [group everyone]
        addresses = 127.0.0.0/8
        block = gambling
        """.write(toFile: directory + "/schoolgate.conf", atomically: true, encoding: .utf8)
    let loaded = try PolicyLoader.load(configPath: directory + "/schoolgate.conf")
    var configuration = ProxyConfiguration()
    configuration.port = 0
    configuration.connectPorts = [443, origin.httpsPort]
    configuration.connectTimeout = .seconds(2)
    configuration.schoolName = "Test School"
    adjust(&configuration)
    let shared = ProxyContext(configuration: configuration, policy: loaded.policy, calendar: loaded.calendar, logger: Logger(label: "test"))
    let server = try await ProxyServer(shared: shared, threads: 1)
    do {
        try await body(try #require(server.localAddress?.port), origin)
    } catch {
        try await server.shutdown()
        throw error
    }
    try await server.shutdown()
}

