import Foundation
import Testing
@testable import SchoolgateProxy

private let support = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Support").path

private func raw(_ proxy: Int, _ request: String, wait: Double? = nil) throws -> (reply: String, closed: Bool) {
    let result = try run(["python3", support + "/raw_client.py", String(proxy), request] + (wait.map { [String($0)] } ?? []))
    let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
    let closed = lines.dropLast().last == "CLOSED"
    return (result.output, closed)
}

private func seenByOrigin(_ origin: Origin) throws -> String {
    try run(["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(origin.httpPort)/seen"]).output
}

@Suite(.enabled(if: Tools.exists("curl") && Tools.exists("python3") && Tools.exists("openssl"), "needs curl, python3 and openssl"))
struct ProxyHardeningTests {
    @Test(arguments: [
        ("cl-te", "Content-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n"),
        ("dup-cl", "Content-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\nhello!"),
        ("bad-cl", "Content-Length: abc\\r\\n\\r\\n"),
        ("te-not-last", "Transfer-Encoding: chunked, identity\\r\\n\\r\\n0\\r\\n\\r\\n"),
        ("bad-chunk", "Transfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\nhello\\r\\n0\\r\\n\\r\\n"),
        ("cr-in-name", "X-Bad\\rName: 1\\r\\n\\r\\n"),
        ("obs-fold", "X-Folded: a\\r\\n b\\r\\n\\r\\n"),
    ])
    func refusesSmugglingAndNothingReachesUpstream(name: String, tail: String) async throws {
        try await withTestProxy { proxy, origin in
            let path = "/smuggled-\(name)-\(UUID().uuidString.prefix(8))"
            let (reply, closed) = try raw(proxy, "POST http://localhost:\(origin.httpPort)\(path) HTTP/1.1\\r\\nHost: localhost\\r\\n" + tail)
            #expect(reply.hasPrefix("HTTP/1.1 400"), "\(name): \(reply)")
            #expect(closed, "\(name): connection left open")
            #expect(!(try seenByOrigin(origin)).contains(path), "\(name) reached the origin")
        }
    }

    @Test func refusesOversizeHeaders() async throws {
        try await withTestProxy({ $0.maxHeaderBytes = 4096 }) { proxy, origin in
            let big = String(repeating: "a", count: 8000)
            let (reply, closed) = try raw(proxy, "GET http://localhost:\(origin.httpPort)/ HTTP/1.1\\r\\nX-Big: \(big)\\r\\n\\r\\n")
            #expect(reply.hasPrefix("HTTP/1.1 431") || reply.hasPrefix("HTTP/1.1 400"), "\(reply.prefix(80))")
            #expect(closed)
        }
    }

    @Test func refusesOverlongURIs() async throws {
        try await withTestProxy({ $0.maxURILength = 200 }) { proxy, origin in
            let (reply, _) = try raw(proxy, "GET http://localhost:\(origin.httpPort)/\(String(repeating: "a", count: 300)) HTTP/1.1\\r\\n\\r\\n")
            #expect(reply.hasPrefix("HTTP/1.1 414"))
        }
    }

    @Test func closesAClientThatNeverFinishesItsHead() async throws {
        try await withTestProxy({ $0.clientTimeout = .milliseconds(300) }) { proxy, origin in
            let (reply, closed) = try raw(proxy, "GET http://localhost:\(origin.httpPort)/ HTTP/1.1\\r\\nX-Slow: 1\\r\\n", wait: 1.0)
            #expect(reply.trimmingCharacters(in: .whitespacesAndNewlines) == "CLOSED")
            #expect(closed)
        }
    }

    @Test func limitsConnectionsPerClient() async throws {
        try await withTestProxy({ $0.maxConnectionsPerClient = 0 }) { proxy, origin in
            let result = try run(["curl", "-s", "-x", "http://127.0.0.1:\(proxy)", "http://localhost:\(origin.httpPort)/"])
            #expect(result.status == 52 || result.status == 56, "curl exit \(result.status): empty reply or reset")
        }
    }

    @Test func answersMaxForwardsZeroItself() async throws {
        try await withTestProxy { proxy, origin in
            let path = "/options-\(UUID().uuidString.prefix(8))"
            let (reply, _) = try raw(proxy, "OPTIONS http://localhost:\(origin.httpPort)\(path) HTTP/1.1\\r\\nMax-Forwards: 0\\r\\nConnection: close\\r\\n\\r\\n")
            #expect(reply.hasPrefix("HTTP/1.1 200"))
            #expect(reply.contains("Max-Forwards reached 0"))
            #expect(!(try seenByOrigin(origin)).contains(path))
        }
    }

    @Test func forwardsAnUploadWithExpectContinue() async throws {
        try await withTestProxy { proxy, origin in
            let file = NSTemporaryDirectory() + "upload-" + UUID().uuidString
            try #require(FileManager.default.createFile(atPath: file, contents: Data(repeating: 65, count: 3_000_000)))
            defer { try? FileManager.default.removeItem(atPath: file) }
            let result = try run(["curl", "-s", "--max-time", "10", "-x", "http://127.0.0.1:\(proxy)", "-H", "Expect: 100-continue",
                                  "--data-binary", "@" + file, "http://localhost:\(origin.httpPort)/upload"])
            #expect(result.output == "posted 3000000 bytes\n")
        }
    }

    @Test(arguments: ["drip", "split"])
    func tunnelsARealClientHelloHoweverItArrives(mode: String) async throws {
        try await withTestProxy { proxy, origin in
            let result = try run(["python3", support + "/tls_client.py", String(proxy), String(origin.httpsPort), mode])
            #expect(result.output.contains("origin saw GET /tls-\(mode)"), "\(result.output) \(result.error)")
        }
    }

    @Test func closesATunnelWithNoClientHelloBeforeTheTimeout() async throws {
        try await withTestProxy({ $0.clientHelloTimeout = .milliseconds(300) }) { proxy, origin in
            let (reply, closed) = try raw(proxy, "CONNECT localhost:\(origin.httpsPort) HTTP/1.1\\r\\n\\r\\n", wait: 1.0)
            #expect(reply.hasPrefix("HTTP/1.1 200"))
            #expect(closed)
        }
    }

    @Test func closesATunnelCarryingSomethingOtherThanTLSAndRaisesAnIncident() async throws {
        let visits = VisitCollector()
        try await withTestProxy(visits: visits) { proxy, origin in
            let (reply, closed) = try raw(proxy, "CONNECT localhost:\(origin.httpsPort) HTTP/1.1\\r\\n\\r\\nGET /plain-in-tunnel HTTP/1.1\\r\\n\\r\\n")
            #expect(reply.hasPrefix("HTTP/1.1 200"))
            #expect(closed)
        }
        #expect(visits.sightings.map { "\($0.category) \($0.severity) \($0.site)" } == ["bypass-attempt medium localhost"])
    }

    @Test func aMismatchedSNIIsABypassAttemptForTheDSL() async throws {
        let visits = VisitCollector()
        try await withTestProxy(visits: visits) { proxy, origin in
            _ = try run(["curl", "-s", "-k", "--max-time", "10", "-x", "http://127.0.0.1:\(proxy)",
                         "--connect-to", "elsewhere.invalid:\(origin.httpsPort):localhost:\(origin.httpsPort)", "https://elsewhere.invalid:\(origin.httpsPort)/"])
        }
        let refused = visits.visits.filter { $0.rule == .sniMismatch }
        #expect(refused.count == 1 && refused.first?.sni == "elsewhere.invalid" && refused.first?.verdict == .block)
        #expect(visits.sightings.map(\.category) == ["bypass-attempt"])
    }

    @Test func aSlowClientIsNotABypassAttempt() async throws {
        let visits = VisitCollector()
        try await withTestProxy({ $0.clientHelloTimeout = .milliseconds(200) }, visits: visits) { proxy, origin in
            _ = try raw(proxy, "CONNECT localhost:\(origin.httpsPort) HTTP/1.1\\r\\n\\r\\n", wait: 0.6)
        }
        #expect(visits.visits.contains { $0.rule == .tunnelRefused })
        #expect(visits.sightings.isEmpty)
    }
}
