import Foundation
import Testing
@testable import SchoolgatePolicy
@testable import SchoolgateProxy

/// Debian's Chromium through the proxy: its ClientHello (large, with post-quantum key shares,
/// often over several TCP segments) must be read for a tunnel to open at all.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") && Tools.exists("python3") && Tools.exists("openssl"),
                "needs Debian's chromium, python3 and openssl"))
struct ChromiumTests {
    /// Confines the browser to loopback: its background services are off, and anything it still
    /// asks for is refused by the proxy before any DNS lookup.
    func chromium(_ proxy: Int, _ arguments: [String]) throws -> RunResult {
        let profile = NSTemporaryDirectory() + "chromium-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: profile) }
        return try run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                        "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--metrics-recording-only",
                        "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
                        "--proxy-server=http://127.0.0.1:\(proxy)", "--proxy-bypass-list=<-loopback>", "--ignore-certificate-errors",
                        "--user-data-dir=\(profile)"] + arguments, timeout: 60)
    }

    func loopbackOnly(_ configuration: inout ProxyConfiguration) {
        configuration.upstreamAllowed = { $0.text == "localhost" || $0.text == "127.0.0.1" }
    }

    @Test func loadsAnAllowedHTTPSPageThroughATunnelDecidedOnItsSNI() async throws {
        let visits = VisitCollector()
        try await withTestProxy(loopbackOnly, visits: visits) { proxy, origin in
            let page = try chromium(proxy, ["--dump-dom", "https://localhost:\(origin.httpsPort)/from-chromium"])
            #expect(page.output.contains("origin saw GET /from-chromium"), "\(page.output.prefix(300)) \(page.error.suffix(300))")
        }
        let tunnels = visits.visits.filter { $0.method == "CONNECT" && $0.host == "localhost" }
        #expect(!tunnels.isEmpty)
        #expect(tunnels.allSatisfy { $0.sni == "localhost" && $0.status == 200 }, "\(tunnels)")
        #expect(tunnels.contains { $0.bytesIn > 1_500 }, "Chromium hello and request went through: \(tunnels.map { ($0.bytesIn, $0.bytesOut) })")
    }

    @Test func isRefusedABlockedHTTPSSiteAndShownTheBlockPageForHTTP() async throws {
        let visits = VisitCollector()
        try await withTestProxy(loopbackOnly, visits: visits) { proxy, _ in
            let refused = try chromium(proxy, ["--dump-dom", "https://blocked.invalid/secret"])
            #expect(!refused.output.contains("origin saw"))
            let page = try chromium(proxy, ["--dump-dom", "http://www.blocked.invalid/"])
            #expect(page.output.contains("<h1>This website is blocked</h1>"))
            #expect(page.output.contains("category the school blocks: gambling"))
            let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/screenshots").path
            try FileManager.default.createDirectory(atPath: screenshots, withIntermediateDirectories: true)
            _ = try chromium(proxy, ["--screenshot=\(screenshots)/block-page.png", "--window-size=420,760", "http://www.blocked.invalid/"])
            #expect(FileManager.default.fileExists(atPath: screenshots + "/block-page.png"))
        }
        let blocked = visits.visits.filter { $0.host == "blocked.invalid" && $0.method == "CONNECT" }
        #expect(!blocked.isEmpty && blocked.allSatisfy { $0.status == 403 && $0.verdict == .block })
        // Nothing the browser asked for reached beyond loopback: refused names never even resolved.
        #expect(visits.visits.allSatisfy { $0.status != 200 || ["localhost", "127.0.0.1"].contains($0.host) })
    }
}
