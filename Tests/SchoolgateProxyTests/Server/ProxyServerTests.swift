import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import SchoolgateConfig
@testable import SchoolgatePolicy
@testable import SchoolgateProxy

/// The real proxy on a free loopback port, driven by curl against a loopback origin.
@Suite(.enabled(if: Tools.exists("curl") && Tools.exists("python3") && Tools.exists("openssl"), "needs curl, python3 and openssl"))
struct ProxyServerTests {
    func curl(_ proxy: Int, _ arguments: [String]) throws -> RunResult {
        try run(["curl", "-s", "-k", "--max-time", "10", "-x", "http://127.0.0.1:\(proxy)"] + arguments)
    }

    @Test func forwardsAnAllowedRequestWithVia() async throws {
        try await withTestProxy { proxy, origin in
            let result = try curl(proxy, ["-D", "-", "http://localhost:\(origin.httpPort)/page?q=1"])
            #expect(result.status == 0)
            #expect(result.output.contains("HTTP/1.1 200"))
            #expect(result.output.contains("origin saw GET /page?q=1 via=1.1 schoolgate"))
        }
    }

    @Test func answersABlockedRequestWithTheBlockPage() async throws {
        try await withTestProxy { proxy, _ in
            let result = try curl(proxy, ["-D", "-", "http://www.blocked.invalid/anything"])
            #expect(result.output.hasPrefix("HTTP/1.1 403"))
            #expect(result.output.contains("<strong>www.blocked.invalid</strong> cannot be opened on the Test School network"))
            #expect(result.output.contains("category the school blocks: gambling"))
            #expect(!result.output.contains("blocked\n"), "no list file names leak")
        }
    }

    @Test func keepsTheClientConnectionAliveAcrossRequests() async throws {
        try await withTestProxy { proxy, origin in
            let url = "http://localhost:\(origin.httpPort)/one"
            let result = try curl(proxy, ["-v", url, "http://blocked.invalid/", url])
            #expect(result.output.components(separatedBy: "origin saw GET /one").count == 3)
            #expect(result.error.contains("Re-using existing connection") || result.error.contains("Reusing existing"))
        }
    }

    @Test func keepsAnHTTP10ClientAliveOnlyWhenItAsksAndTellsItSo() async throws {
        try await withTestProxy { proxy, origin in
            let url = "http://localhost:\(origin.httpPort)/one"
            let kept = try curl(proxy, ["-0", "-v", "-H", "Connection: keep-alive", url, url])
            #expect(kept.output.components(separatedBy: "origin saw GET /one").count == 3, "\(kept.output)")
            #expect(kept.error.contains("HTTP/1.0 200") && kept.error.contains("Connection: keep-alive"), "\(kept.error)")
            #expect(kept.error.contains("Re-using existing connection") || kept.error.contains("Reusing existing"), "\(kept.error)")
            // curl asks with `Proxy-Connection: Keep-Alive` unless told not to; llhttp reads that
            // field as Connection, as proxies do for old clients.
            let asked = try curl(proxy, ["-0", "-v", url, url])
            #expect(asked.error.contains("Connection: keep-alive"), "\(asked.error)")
            let closed = try curl(proxy, ["-0", "-v", "-H", "Proxy-Connection:", url, url])
            #expect(closed.output.components(separatedBy: "origin saw GET /one").count == 3)
            #expect(closed.error.contains("Connection: close") && !closed.error.contains("Re-using existing connection"), "\(closed.error)")
        }
    }

    @Test func neverSendsChunkedToAnHTTP10Client() async throws {
        try await withTestProxy { proxy, origin in
            let url = "http://localhost:\(origin.httpPort)/chunked/5500"
            // HTTP/1.0 cannot read chunks: the body comes plain, ended by closing the connection.
            let old = try curl(proxy, ["-0", "-o", "/dev/null", "-D", "/dev/stderr", "-H", "Connection: keep-alive", "-w", "%{size_download}", url])
            #expect(old.output == "5500", "\(old.output)")
            #expect(old.error.hasPrefix("HTTP/1.0 200") && !old.error.lowercased().contains("transfer-encoding")
                    && old.error.contains("Connection: close"), "\(old.error)")
            // HTTP/1.1 gets the chunks, and keeps its connection.
            let current = try curl(proxy, ["-o", "/dev/null", "-D", "/dev/stderr", "-w", "%{size_download}", url])
            #expect(current.output == "5500" && current.error.lowercased().contains("transfer-encoding: chunked"), "\(current.error)")
        }
    }

    @Test func reusesIdleUpstreamConnectionsAcrossClients() async throws {
        try await withTestProxy { proxy, origin in
            let url = "http://localhost:\(origin.httpPort)/peer"
            // One client connection, three requests: one upstream connection serves them all.
            let same = try curl(proxy, [url, url, url]).output.split(separator: "\n")
            #expect(same.count == 3)
            #expect(Set(same).count == 1, "\(same)")
            // A client connection made afterwards is served by the connection left in the pool.
            let later = try curl(proxy, [url]).output.split(separator: "\n")
            #expect(later == [same[0]], "\(later) after \(same)")
        }
    }

    @Test func closesUpstreamConnectionsIdleLongerThanTheTimeout() async throws {
        try await withTestProxy({ $0.upstreamIdleTimeout = .milliseconds(400) }) { proxy, origin in
            let url = "http://localhost:\(origin.httpPort)/peer"
            let first = try curl(proxy, [url]).output
            #expect(try curl(proxy, [url]).output == first, "reused while fresh")
            try await Task.sleep(nanoseconds: 1_000_000_000)
            let later = try curl(proxy, [url]).output
            #expect(later.hasPrefix("peer port") && later != first, "\(later) after \(first)")
        }
    }

    @Test func pinsAConnectionWithConnectionOrientedAuthenticationToItsClient() async throws {
        try await withTestProxy { proxy, origin in
            let peer = "http://localhost:\(origin.httpPort)/peer"
            // The client authenticates the connection (NTLM): its next request comes back to it...
            let ntlm = try curl(proxy, ["-H", "Authorization: NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=", peer, peer])
                .output.split(separator: "\n")
            #expect(ntlm.count == 2 && ntlm[0] == ntlm[1], "\(ntlm)")
            // ...and no other client ever gets it.
            let other = try curl(proxy, [peer]).output.split(separator: "\n")
            #expect(other.count == 1 && other[0] != ntlm[0], "\(other) after \(ntlm)")
            // The origin asks for Negotiate: that connection is pinned too.
            let asked = try curl(proxy, ["-w", "%{http_code}\n", "http://localhost:\(origin.httpPort)/negotiate"]).output.split(separator: "\n")
            #expect(asked.count == 2 && asked[1] == "401", "\(asked)")
            let next = try curl(proxy, [peer]).output.split(separator: "\n")
            #expect(next.count == 1 && next[0] != asked[0], "\(next) after \(asked)")
            // A connection that was never pinned is still shared.
            #expect(try curl(proxy, [peer]).output.split(separator: "\n").first == next.first)
        }
    }

    @Test func sendsAGetAgainWhenTheReusedUpstreamConnectionWasClosed() async throws {
        try await withTestProxy { proxy, origin in
            // The origin answers only a connection's first request: the second request finds the
            // reused connection closed unanswered, and must go again on a new one.
            let url = "http://localhost:\(origin.httpPort)/fresh-only/get-\(UUID().uuidString)"
            let result = try curl(proxy, ["-w", "%{http_code} new-connections=%{num_connects}\n", url, url])
            let lines = result.output.split(separator: "\n")
            // The proxy retried, not curl: the second answer came on curl's first connection.
            #expect(lines.suffix(1) == ["200 new-connections=0"], "\(result.output)")
            #expect(lines.filter { $0.hasPrefix("200 ") }.count == 2, "\(result.output)")
            let peers = lines.filter { $0.hasPrefix("peer port") }
            #expect(peers.count == 2 && peers[0] != peers[1], "two upstream connections: \(peers)")
        }
    }

    @Test func neverSendsAPostTwice() async throws {
        try await withTestProxy { proxy, origin in
            let path = "/fresh-only/post-\(UUID().uuidString)"
            let url = "http://localhost:\(origin.httpPort)\(path)"
            let result = try curl(proxy, ["-d", "x", "-w", "%{http_code}\n", url, url])
            #expect(result.output.hasSuffix("502\n"), "\(result.output)")
            let seen = try curl(proxy, ["http://localhost:\(origin.httpPort)/seen"]).output.split(separator: "\n")
            #expect(seen.filter { $0 == "POST \(path)" }.count == 2, "each POST reached the origin once: \(seen)")
        }
    }

    @Test func streamsALargeBody() async throws {
        try await withTestProxy { proxy, origin in
            let result = try curl(proxy, ["-o", "/dev/null", "-w", "%{size_download}", "http://localhost:\(origin.httpPort)/big/50000000"])
            #expect(result.output == "50000000")
        }
    }

    /// Enough bytes that the tunnel reads in bulk, with its delayed reads, many times over.
    @Test func streamsALargeBodyThroughATunnel() async throws {
        try await withTestProxy { proxy, origin in
            let result = try curl(proxy, ["-o", "/dev/null", "-w", "%{size_download}", "https://localhost:\(origin.httpsPort)/big/20000000"])
            #expect(result.status == 0, "\(result.error)")
            #expect(result.output == "20000000")
        }
    }

    @Test func tunnelsAnAllowedHTTPSSite() async throws {
        try await withTestProxy { proxy, origin in
            let result = try curl(proxy, ["https://localhost:\(origin.httpsPort)/secure"])
            #expect(result.status == 0, "\(result.error)")
            #expect(result.output.contains("origin saw GET /secure via=None"))
        }
    }

    @Test func refusesABlockedConnectHostBeforeAnyTunnel() async throws {
        try await withTestProxy { proxy, _ in
            let result = try curl(proxy, ["-o", "/dev/null", "-w", "%{http_connect}", "https://blocked.invalid/"])
            #expect(result.output == "403")
            #expect(result.status != 0)
        }
    }

    @Test func closesATunnelWhoseSNIDiffersFromTheConnectHost() async throws {
        try await withTestProxy { proxy, origin in
            // CONNECT localhost (allowed), then a ClientHello naming blocked.invalid.
            let result = try curl(proxy, ["--connect-to", "blocked.invalid:\(origin.httpsPort):localhost:\(origin.httpsPort)",
                                          "-w", "%{http_connect}", "https://blocked.invalid:\(origin.httpsPort)/"])
            #expect(result.output == "200", "the CONNECT itself was allowed")
            #expect(result.status == 35, "TLS handshake failed because the proxy closed the tunnel: \(result.error)")
        }
    }

    @Test func refusesTunnelsToOtherPorts() async throws {
        try await withTestProxy { proxy, origin in
            let result = try curl(proxy, ["-o", "/dev/null", "-w", "%{http_connect}", "https://localhost:\(origin.httpPort)/"])
            #expect(result.output == "403")
        }
    }

    @Test func reportsAnUnreachableUpstream() async throws {
        try await withTestProxy { proxy, _ in
            for url in ["http://localhost:1/", "http://127.0.0.1:1/"] {
                let result = try curl(proxy, ["-D", "-", url])
                #expect(result.output.hasPrefix("HTTP/1.1 502"), "\(url)")
                #expect(result.output.contains("could not be reached (connection refused)"), "\(url): \(result.output)")
            }
        }
    }

    @Test func reportsANameThatDoesNotResolve() async throws {
        try await withTestProxy { proxy, _ in
            let result = try curl(proxy, ["-D", "-", "http://nowhere.test/"])
            #expect(result.output.hasPrefix("HTTP/1.1 502"), "\(result.output)")
            #expect(result.output.contains("could not be reached (its name did not resolve)"), "\(result.output)")
        }
    }

    @Test func refusesOriginFormRequests() async throws {
        try await withTestProxy { proxy, _ in
            let result = try run(["curl", "-s", "-D", "-", "http://127.0.0.1:\(proxy)/"])
            #expect(result.output.hasPrefix("HTTP/1.1 400"))
        }
    }
}

/// Where the proxy tried to connect, refusing every attempt so that nothing leaves loopback.
final class UpstreamRecorder: Sendable {
    private let box = NIOLockedValueBox<[String]>([])
    var hosts: [String] { box.withLockedValue { $0 } }
    func refuseAndRecord(_ configuration: inout ProxyConfiguration) {
        configuration.upstreamAllowed = { [box] host in
            box.withLockedValue { $0.append(host.text) }
            return false
        }
    }
}

@Suite(.enabled(if: Tools.exists("curl") && Tools.exists("python3") && Tools.exists("openssl"), "needs curl, python3 and openssl"))
struct SafeSearchEnforcementTests {
    @Test func tunnelsToGoogleGoToTheEnforcingHostWithTheClientsTLSUntouched() async throws {
        let upstream = UpstreamRecorder()
        try await withTestProxy(upstream.refuseAndRecord) { proxy, _ in
            let result = try run(["curl", "-s", "--max-time", "10", "-x", "http://127.0.0.1:\(proxy)", "https://www.google.com/search?q=x"])
            #expect(result.status != 0)
        }
        #expect(upstream.hosts == ["forcesafesearch.google.com"])
    }

    @Test func plainHTTPToBingGoesToStrictBing() async throws {
        let upstream = UpstreamRecorder()
        try await withTestProxy(upstream.refuseAndRecord) { proxy, _ in
            let result = try run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-x", "http://127.0.0.1:\(proxy)", "http://www.bing.com/search?q=x"])
            #expect(result.output == "502")
        }
        #expect(upstream.hosts == ["strict.bing.com"])
    }
}
