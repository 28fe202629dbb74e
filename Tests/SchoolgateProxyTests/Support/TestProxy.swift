import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import SchoolgatePolicy
import Testing
@testable import SchoolgateConfig
@testable import SchoolgateProxy

/// Starts a proxy whose policy blocks `blocked.invalid` and lets tunnels reach the origin's port.
/// Visits the proxy reported, for assertions.
final class VisitCollector: Sendable {
    private let box = NIOLockedValueBox<[(Visit, Decision?)]>([])
    func add(_ visit: Visit, _ decision: Decision?) { box.withLockedValue { $0.append((visit, decision)) } }
    var visits: [Visit] { box.withLockedValue { $0.map(\.0) } }
    /// The incidents the monitoring writer would have been given.
    var sightings: [IncidentSighting] { box.withLockedValue { $0.compactMap { visit, decision in decision.flatMap { IncidentSighting(visit: visit, decision: $0) } } } }
}

/// `requires` makes the test group wait for sign-in or consent, served by `identity`.
func withTestProxy(_ adjust: (inout ProxyConfiguration) -> Void = { _ in }, visits: VisitCollector? = nil,
                   requires: Group.IdentityRequirement = .none, identity: IdentityServices = IdentityServices(),
                   _ body: (Int, Origin) async throws -> Void) async throws {
    let origin = try Origin.shared.get()
    let directory = NSTemporaryDirectory() + "schoolgate-proxy-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try "Be kind online.\n".write(toFile: directory + "/guest-terms.txt", atomically: true, encoding: .utf8)
    try "blocked.invalid\n".write(toFile: directory + "/blocked", atomically: true, encoding: .utf8)
    try """
        [category gambling]
        domains = blocked
        [group everyone]
        addresses = 127.0.0.0/8
        block = gambling
        safesearch = strict
        requires = \(requires.rawValue)
        """.write(toFile: directory + "/schoolgate.conf", atomically: true, encoding: .utf8)
    let loaded = try PolicyLoader.load(configPath: directory + "/schoolgate.conf")
    var configuration = ProxyConfiguration()
    configuration.port = 0
    configuration.connectPorts = [443, origin.httpsPort]
    configuration.connectTimeout = .seconds(2)
    configuration.schoolName = "Test School"
    adjust(&configuration)
    // Names resolve as a hosts file would have them: `localhost` only. Nothing asks a DNS server.
    let lookups = NIOThreadPool(numberOfThreads: 1)
    lookups.start()
    let names = NameCache(pool: lookups) { name in name == "localhost" ? [try! SocketAddress(ipAddress: "127.0.0.1", port: 0)] : [] }
    let shared = ProxyContext(configuration: configuration, policy: loaded.policy, calendar: loaded.calendar, logger: Logger(label: "test"),
                              identity: identity, names: names, visitSink: { visit, decision in visits?.add(visit, decision) })
    let server = try await ProxyServer(shared: shared, threads: 1)
    do {
        try await body(try #require(server.localAddress?.port), origin)
    } catch {
        try await server.shutdown()
        try await lookups.shutdownGracefully()
        throw error
    }
    try await server.shutdown()
    try await lookups.shutdownGracefully()
}

