import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import SchoolgateProxy

@Suite struct NameCacheTests {
    /// A lookup that counts its calls, answers from `table`, and can be held until released.
    final class FakeLookup: Sendable {
        let calls = NIOLockedValueBox(0)
        let gate = DispatchSemaphore(value: 0)
        let held: Bool
        let table: [String: [String]]
        init(_ table: [String: [String]], held: Bool = false) {
            self.table = table
            self.held = held
        }
        func callAsFunction(_ name: String) -> [SocketAddress] {
            calls.withLockedValue { $0 += 1 }
            if held { gate.wait() }
            return (table[name] ?? []).map { try! SocketAddress(ipAddress: $0, port: 0) }
        }
    }

    /// Lifetimes default to an hour: a loaded test process can take longer than the real
    /// ten seconds between two steps of a test, and an entry expiring then is not the subject.
    func withCache(_ lookup: FakeLookup?, lifetimes: (positive: TimeAmount, negative: TimeAmount) = (.hours(1), .hours(1)),
                   _ body: (NameCache, EventLoop) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let cache = lookup.map { lookup in
            NameCache(pool: pool, positiveLifetime: lifetimes.positive, negativeLifetime: lifetimes.negative, lookup: { lookup($0) })
        } ?? NameCache(pool: pool)
        do { try await body(cache, group.next()) } catch {
            try await pool.shutdownGracefully()
            try await group.shutdownGracefully()
            throw error
        }
        try await pool.shutdownGracefully()
        try await group.shutdownGracefully()
    }

    @Test func looksANameUpOnceAndRemembersIt() async throws {
        let lookup = FakeLookup(["school.example": ["192.0.2.7", "2001:db8::7"]])
        try await withCache(lookup) { cache, loop in
            for _ in 0..<3 {
                let addresses = try await cache.addresses(of: "school.example", on: loop).get()
                #expect(addresses.map(\.ipAddress) == ["192.0.2.7", "2001:db8::7"])
            }
            #expect(lookup.calls.withLockedValue { $0 } == 1)
            // A name that does not resolve is remembered too, for less long.
            #expect(try await cache.addresses(of: "nowhere.example", on: loop).get().isEmpty)
            #expect(try await cache.addresses(of: "nowhere.example", on: loop).get().isEmpty)
            #expect(lookup.calls.withLockedValue { $0 } == 2)
        }
    }

    @Test func entriesAreLookedUpAgainOnceTheyExpire() async throws {
        let lookup = FakeLookup(["school.example": ["192.0.2.7"]])
        try await withCache(lookup, lifetimes: (.milliseconds(100), .milliseconds(100))) { cache, loop in
            _ = try await cache.addresses(of: "school.example", on: loop).get()
            _ = try await cache.addresses(of: "nowhere.example", on: loop).get()
            #expect(lookup.calls.withLockedValue { $0 } == 2)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await cache.addresses(of: "school.example", on: loop).get().map(\.ipAddress) == ["192.0.2.7"])
            #expect(try await cache.addresses(of: "nowhere.example", on: loop).get().isEmpty)
            #expect(lookup.calls.withLockedValue { $0 } == 4)
        }
    }

    @Test func requestsForANameBeingLookedUpWaitForThatLookup() async throws {
        let lookup = FakeLookup(["school.example": ["192.0.2.7"]], held: true)
        try await withCache(lookup) { cache, loop in
            let first = cache.addresses(of: "school.example", on: loop)
            let second = cache.addresses(of: "school.example", on: loop)
            lookup.gate.signal()
            let (one, two) = (try await first.get(), try await second.get())
            #expect(one.map(\.ipAddress) == ["192.0.2.7"] && two.map(\.ipAddress) == ["192.0.2.7"])
            #expect(lookup.calls.withLockedValue { $0 } == 1)
        }
    }

    @Test func theResolverAnswersEachFamilyWithThePortAndFailsAnUnknownName() async throws {
        let lookup = FakeLookup(["school.example": ["192.0.2.7", "2001:db8::7", "192.0.2.8"]])
        try await withCache(lookup) { cache, loop in
            let resolver = cache.resolver(on: loop)
            let v4 = try await resolver.initiateAQuery(host: "school.example", port: 8080).get()
            #expect(v4.map(\.ipAddress) == ["192.0.2.7", "192.0.2.8"] && v4.allSatisfy { $0.port == 8080 })
            let v6 = try await resolver.initiateAAAAQuery(host: "school.example", port: 8080).get()
            #expect(v6.map(\.ipAddress) == ["2001:db8::7"] && v6[0].port == 8080)
            await #expect(throws: NameNotResolved.self) { try await resolver.initiateAQuery(host: "nowhere.example", port: 80).get() }
            #expect(lookup.calls.withLockedValue { $0 } == 2)
        }
    }

    /// The system resolver, on a name every machine has in its hosts file (no DNS query leaves it).
    @Test func theSystemLookupReadsTheHostsFile() async throws {
        try await withCache(nil) { cache, loop in
            let addresses = try await cache.addresses(of: "localhost", on: loop).get()
            #expect(addresses.contains { $0.ipAddress == "127.0.0.1" || $0.ipAddress == "::1" }, "\(addresses)")
            #expect(NameCache.systemLookup("127.0.0.1").map(\.ipAddress) == ["127.0.0.1"])
        }
    }
}
