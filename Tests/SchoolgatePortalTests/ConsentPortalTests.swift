import Foundation
import Synchronization
import Testing
@testable import SchoolgateIdentity
@testable import SchoolgatePolicy
@testable import SchoolgatePortal

struct ConsentPortalTests {
    final class Recorded: Sendable {
        let records = Mutex<[ConsentRecord]>([])
    }

    final class Clock: Sendable {
        private let time = Mutex(Date(timeIntervalSince1970: 1_795_392_000))
        func withLock<T>(_ body: (inout Date) -> T) -> T { time.withLock { body(&$0) } }
    }

    let clock = Clock()

    func portal(_ recorded: Recorded = Recorded(), registry: ConsentRegistry? = nil) -> (ConsentPortal, ConsentRegistry) {
        let registry = registry ?? ConsentRegistry(terms: ConsentTerms(version: "2026-09", text: "Be kind.\n\nNo <script>s.", idleLimit: 600, sessionLimit: 3_600))
        var settings = PortalSettings()
        settings.schoolName = "Example Academy"
        settings.publicURL = "https://wifi.example.sch.uk/"
        let clock = clock
        let portal = ConsentPortal(settings: settings, registry: registry, now: { clock.withLock { $0 } },
                                   onConsent: { record in recorded.records.withLock { $0.append(record) } })
        return (portal, registry)
    }

    /// The hidden token of the form the page served to `client`.
    func token(in page: String) -> String? {
        guard let range = page.range(of: "name=\"token\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    func post(_ body: String, from client: String, headers: [(name: String, value: String)] = [("Host", "wifi.example.sch.uk")]) -> PortalRequest {
        PortalRequest(method: "POST", target: "/accept", headers: headers + [("Content-Type", "application/x-www-form-urlencoded")], body: body, client: client)
    }

    @Test func showsTheTermsAndRecordsAnAgreementWithTheDevicesAddresses() throws {
        let recorded = Recorded()
        let (portal, registry) = portal(recorded)
        let page = portal.respond(to: PortalRequest(method: "GET", target: "/", client: "10.99.0.5"))
        #expect(page.status == 200 && page.headers["Cache-Control"] == "no-store")
        #expect(page.body.contains("Acceptable use (version 2026-09)"))
        #expect(page.body.contains("<p>No &lt;script&gt;s.</p>"), "terms are escaped, paragraph by paragraph")
        #expect(!page.body.contains("<script"), "the page works without script")
        let form = try #require(token(in: page.body))
        let accepted = portal.respond(to: post("token=\(form)&name=Ada+Visitor&agree=yes", from: "10.99.0.5"))
        #expect(accepted.status == 303 && accepted.headers["Location"] == "/")
        let record = try #require(recorded.records.withLock { $0.first })
        #expect(record.client == "10.99.0.5" && record.mac == nil && record.name == "Ada Visitor" && record.termsVersion == "2026-09")
        #expect(registry.standing(of: "10.99.0.5", at: clock.withLock { $0 }).isActive)
        #expect(portal.respond(to: PortalRequest(method: "GET", target: "/", client: "10.99.0.5")).body.contains("You're online"))
    }

    @Test func refusesForgedStaleOrUntickedAgreements() throws {
        let recorded = Recorded()
        let (portal, _) = portal(recorded)
        let form = try #require(token(in: portal.respond(to: PortalRequest(method: "GET", target: "/", client: "10.99.0.5")).body))
        #expect(portal.respond(to: post("token=\(form)&agree=yes", from: "10.99.0.6")).status == 403, "another device's token")
        #expect(portal.respond(to: post("token=123.abc&agree=yes", from: "10.99.0.5")).status == 403)
        #expect(portal.respond(to: post("agree=yes", from: "10.99.0.5")).status == 403)
        let crossSite = portal.respond(to: post("token=\(form)&agree=yes", from: "10.99.0.5",
                                                headers: [("Host", "wifi.example.sch.uk"), ("Origin", "https://evil.example")]))
        #expect(crossSite.status == 403)
        let fetchedCrossSite = portal.respond(to: post("token=\(form)&agree=yes", from: "10.99.0.5",
                                                       headers: [("Host", "wifi.example.sch.uk"), ("Sec-Fetch-Site", "cross-site")]))
        #expect(fetchedCrossSite.status == 403)
        let unticked = portal.respond(to: post("token=\(form)&name=Ada", from: "10.99.0.5"))
        #expect(unticked.status == 400 && unticked.body.contains("Please tick the box"))
        clock.withLock { $0 += FormToken.lifetime + 1 }
        let stale = portal.respond(to: post("token=\(form)&agree=yes", from: "10.99.0.5"))
        #expect(stale.status == 403 && stale.body.contains("expired"))
        #expect(recorded.records.withLock { $0.isEmpty })
        let sameOrigin = portal.respond(to: post("token=\(try #require(token(in: stale.body)))&agree=yes", from: "10.99.0.5",
                                                 headers: [("Host", "wifi.example.sch.uk"), ("Origin", "https://wifi.example.sch.uk")]))
        #expect(sameOrigin.status == 303, "the page served with the refusal carries a fresh token")
    }

    @Test func answersTheCaptivePortalAPI() throws {
        let (portal, registry) = portal()
        let held = portal.respond(to: PortalRequest(method: "GET", target: "/api/captive", client: "10.99.0.7"))
        #expect(held.headers["Content-Type"] == "application/captive+json" && held.headers["Cache-Control"] == "private")
        let heldJSON = try #require(try JSONSerialization.jsonObject(with: Data(held.body.utf8)) as? [String: Any])
        #expect(heldJSON["captive"] as? Bool == true)
        #expect(heldJSON["user-portal-url"] as? String == "https://wifi.example.sch.uk/")
        registry.record(ConsentRecord(client: "10.99.0.7", termsVersion: "2026-09", consentedAt: clock.withLock { $0 } - 600 + 1))
        let free = portal.respond(to: PortalRequest(method: "GET", target: "/api/captive", client: "10.99.0.7"))
        let freeJSON = try #require(try JSONSerialization.jsonObject(with: Data(free.body.utf8)) as? [String: Any])
        #expect(freeJSON["captive"] as? Bool == false)
        #expect(freeJSON["seconds-remaining"] as? Int == 3_001)
        #expect(freeJSON["can-extend-session"] as? Bool == true)
    }

    @Test func readsTheHardwareAddressFromTheNeighbourTable() {
        let table = """
            IP address       HW type     Flags       HW address            Mask     Device
            10.99.0.5        0x1         0x2         AA:BB:CC:00:11:22     *        wlan0
            10.99.0.6        0x1         0x0         00:00:00:00:00:00     *        wlan0
            """
        #expect(NeighbourTable.hardwareAddress(of: "10.99.0.5", inTable: table) == "aa:bb:cc:00:11:22")
        #expect(NeighbourTable.hardwareAddress(of: "10.99.0.6", inTable: table) == nil, "an incomplete entry is no answer")
        #expect(NeighbourTable.hardwareAddress(of: "10.99.0.50", inTable: table) == nil)
        let path = NSTemporaryDirectory() + "arp-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        try? table.write(toFile: path, atomically: true, encoding: .utf8)
        let agreed = ConsentRecord(client: "10.99.0.5", termsVersion: "1", consentedAt: Date())
        #expect(NeighbourTable.completing(agreed, table: path).mac == "aa:bb:cc:00:11:22", "filled in where the agreement is stored")
    }

    @Test func cleansTheNameAGuestGives() {
        #expect(ConsentPortal.cleanName("  Ada\u{7}\nLovelace  ") == "AdaLovelace")
        #expect(ConsentPortal.cleanName(String(repeating: "x", count: 100)).count == 64)
    }
}
