import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import SchoolgateIdentity
@testable import SchoolgatePolicy
@testable import SchoolgatePortal
@testable import SchoolgateProxy

/// A browser driven over the DevTools protocol (Support/browser.py), one command at a time.
final class Browser {
    struct Page: Decodable {
        var url: String
        var title: String
        var text: String
        var error: String?
    }

    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()
    private let profile = NSTemporaryDirectory() + "chromium-" + UUID().uuidString

    /// Confined to loopback: background services off, every request through the proxy but
    /// the consent page's own address.
    init(proxy: Int, bypass: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Support/browser.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                             "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--metrics-recording-only",
                             "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
                             "--proxy-server=http://127.0.0.1:\(proxy)", "--proxy-bypass-list=<-loopback>;\(bypass)",
                             "--window-size=420,900", "--user-data-dir=\(profile)"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func send(_ command: [String: String]) throws -> Page {
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: command) + Data("\n".utf8))
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw CocoaError(.fileReadUnknown) }
            buffer += chunk
        }
        let newline = buffer.firstIndex(of: UInt8(ascii: "\n"))!
        let line = buffer[..<newline]
        buffer.removeSubrange(...newline)
        return try JSONDecoder().decode(Page.self, from: line)
    }

    func goto(_ url: String) throws -> Page { try send(["op": "goto", "url": url]) }
    func accept(name: String) throws -> Page { try send(["op": "accept", "name": name]) }
    func screenshot(_ path: String) throws { _ = try send(["op": "screenshot", "path": path]) }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: profile)
    }
}

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") && Tools.exists("python3") && Tools.exists("openssl"),
                "needs Debian's chromium, python3 and openssl"))
struct GuestPortalBrowserTests {
    static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/screenshots").path

    @Test func aGuestAcceptsTheTermsInABrowserAndIsThenLoggedByName() async throws {
        let terms = ConsentTerms(version: "2026-09", text: "Use this network kindly.\n\nThe school records the websites visited.")
        let registry = ConsentRegistry(terms: terms)
        var portalSettings = PortalSettings()
        portalSettings.httpPort = 0
        portalSettings.schoolName = "Test School"
        let consents = ConsentsSeen()
        let portal = ConsentPortal(settings: portalSettings, registry: registry, onConsent: { consents.add($0) })
        let portalServer = try await PortalServer(portal: portal, settings: portalSettings, logger: Logger(label: "test"))
        defer { Task { try? await portalServer.shutdown() } }
        let portalPort = try #require(portalServer.localAddresses.first?.port)
        let portalURL = "http://127.0.0.1:\(portalPort)/"
        portal.publicURL = portalURL
        var identity = IdentityServices()
        identity.consents = registry
        identity.portalURL = portalURL
        let visits = VisitCollector()
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)

        try await withTestProxy({ $0.upstreamAllowed = { $0.text == "localhost" } }, visits: visits, requires: .consent, identity: identity) { proxy, origin in
            let browser = try Browser(proxy: proxy, bypass: "127.0.0.1:\(portalPort)")
            let site = "http://localhost:\(origin.httpPort)"

            // Any page first: the consent page, which the phone would show as its sign-in sheet.
            let held = try browser.goto(site + "/first")
            #expect(held.url == portalURL, "\(held)")
            #expect(held.text.contains("Acceptable use (version 2026-09)") && held.text.contains("Use this network kindly."))
            try browser.screenshot(Self.screenshots + "/consent-page.png")
            #expect(FileManager.default.fileExists(atPath: Self.screenshots + "/consent-page.png"))
            #expect(try browser.goto("http://captive.apple.com/hotspot-detect.html").url == portalURL, "the OS probe gets the portal too")

            let accepted = try browser.accept(name: "Ada Visitor")
            #expect(accepted.text.contains("You're online"), "\(accepted)")
            #expect(try browser.goto(site + "/after").text.contains("origin saw GET /after"))
            #expect(try browser.goto("http://captive.apple.com/hotspot-detect.html").text.contains("Success"), "the probe now says online")

            // New terms: the guest agrees again.
            registry.replaceTerms(ConsentTerms(version: "2026-10", text: "New terms.", idleLimit: terms.idleLimit, sessionLimit: terms.sessionLimit))
            let again = try browser.goto(site + "/again")
            #expect(again.url == portalURL && again.text.contains("version 2026-10"), "\(again)")
            #expect(try browser.accept(name: "Ada Visitor").text.contains("You're online"))
            #expect(try browser.goto(site + "/again").text.contains("origin saw GET /again"))

            // An idle session ends: the page again.
            // Waits for the registry, not a fixed time: on a loaded machine the browser's own late
            // requests (the last page's favicon) count as use and can push the idle end back.
            registry.replaceTerms(ConsentTerms(version: "2026-10", text: "New terms.", idleLimit: 1, sessionLimit: terms.sessionLimit))
            let deadline = Date().addingTimeInterval(15)
            while registry.standing(of: "127.0.0.1", at: Date()).isActive, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            #expect(!registry.standing(of: "127.0.0.1", at: Date()).isActive, "the idle session ended")
            #expect(try browser.goto(site + "/later").url == portalURL)
        }
        let browsed = visits.visits.filter { $0.host == "localhost" && $0.status == 200 }
        #expect(Set(browsed.compactMap(\.url).map { String($0.split(separator: "/").last ?? "") }) == ["after", "again", "favicon.ico"], "\(browsed.map(\.url))")
        #expect(browsed.allSatisfy { $0.user == "guest:Ada Visitor" && $0.group == "everyone" })
        #expect(consents.records.map(\.termsVersion) == ["2026-09", "2026-10"])
        #expect(consents.records.allSatisfy { $0.client == "127.0.0.1" && $0.name == "Ada Visitor" })
        // Nothing beyond loopback was ever asked for: the probe was answered by the proxy itself,
        // and refused names never even resolved.
        #expect(visits.visits.allSatisfy { $0.status != 200 || $0.host == "localhost" || $0.host == "captive.apple.com" }, "\(visits.visits.map(\.host))")
    }

    @Test func servesThePageAndTheCaptiveAPIOverHTTPS() async throws {
        let origin = try Origin.shared.get()
        let registry = ConsentRegistry(terms: ConsentTerms(version: "1", text: "Be kind."))
        var settings = PortalSettings()
        settings.httpPort = 0
        settings.https = ("127.0.0.1", 0, origin.directory + "/cert.pem", origin.directory + "/key.pem")
        settings.publicURL = "https://localhost/"
        let portal = ConsentPortal(settings: settings, registry: registry, onConsent: { _ in })
        let server = try await PortalServer(portal: portal, settings: settings, logger: Logger(label: "test"))
        defer { Task { try? await server.shutdown() } }
        let httpsPort = try #require(server.localAddresses.last?.port)
        let api = try run(["curl", "-s", "-k", "--max-time", "10", "-D", "-", "https://127.0.0.1:\(httpsPort)/api/captive"])
        #expect(api.output.contains("Content-Type: application/captive+json"), "\(api.output) \(api.error)")
        #expect(api.output.contains("Cache-Control: private"))
        #expect(api.output.contains("{\"captive\": true, \"user-portal-url\": \"https://localhost/\"}"))
        let page = try run(["curl", "-s", "-k", "--max-time", "10", "https://127.0.0.1:\(httpsPort)/"])
        #expect(page.output.contains("<form method=\"post\" action=\"/accept\">"))
    }
}

final class ConsentsSeen: Sendable {
    private let box = NIOLockedValueBox<[ConsentRecord]>([])
    func add(_ record: ConsentRecord) { box.withLockedValue { $0.append(record) } }
    var records: [ConsentRecord] { box.withLockedValue { $0 } }
}
