import Foundation
import SchoolgateIdentity
import SchoolgatePolicy
import Synchronization

/// A request to the captive page, as the HTTP layer hands it over.
public struct PortalRequest: Sendable {
    public var method: String
    /// Path and query, as sent.
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: String
    /// The guest's address as the page's socket sees it: the address consent is recorded for.
    public var client: String

    public init(method: String, target: String, headers: [(name: String, value: String)] = [], body: String = "", client: String) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.client = client
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }
}

public struct PortalResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: String
}

/// What the captive page does, apart from sockets: shows the terms, takes an agreement, and
/// answers the RFC 8908 captive portal API.
public final class ConsentPortal: Sendable {
    private let settings: PortalSettings
    private let registry: ConsentRegistry
    private let token: FormToken
    private let now: @Sendable () -> Date
    private let onConsent: @Sendable (ConsentRecord) -> Void
    private let advertisedURL: Mutex<String>

    /// The page's address as guests reach it, for the RFC 8908 API; known only once bound
    /// when the config does not say.
    public var publicURL: String {
        get { advertisedURL.withLock { $0 } }
        set { advertisedURL.withLock { $0 = newValue } }
    }

    /// `onConsent` gets each new agreement after it is in the registry: it stores it (off the
    /// event loop), adding the device's hardware address there: reading the neighbour table is
    /// file I/O, kept off this event loop.
    public init(settings: PortalSettings, registry: ConsentRegistry, now: @escaping @Sendable () -> Date = Date.init,
                onConsent: @escaping @Sendable (ConsentRecord) -> Void) {
        self.settings = settings
        self.registry = registry
        self.token = FormToken()
        self.now = now
        self.onConsent = onConsent
        self.advertisedURL = Mutex(settings.publicURL)
    }

    public func respond(to request: PortalRequest) -> PortalResponse {
        let path = request.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        switch (request.method, path) {
        case ("GET", "/"), ("HEAD", "/"):
            return page(for: request.client)
        case ("POST", "/accept"):
            return accept(request)
        case ("GET", "/api/captive"), ("GET", "/.well-known/captive-portal"):
            return captiveAPI(for: request.client)
        case (_, "/"), (_, "/accept"), (_, "/api/captive"):
            return PortalResponse(status: 405, headers: ["Content-Type": "text/plain; charset=utf-8", "Allow": path == "/accept" ? "POST" : "GET"],
                                  body: "Method not allowed.\n")
        default:
            return PortalResponse(status: 404, headers: ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"],
                                  body: "<!doctype html><title>Not found</title><p>Nothing here. <a href=\"/\">Go to the guest Wi-Fi page</a>.</p>\n")
        }
    }

    private func page(for client: String, status: Int = 200, problem: String? = nil) -> PortalResponse {
        let instant = now()
        let html: String
        if problem == nil, case .active(let seconds) = registry.standing(of: client, at: instant) {
            html = PortalPage.connected(school: settings.schoolName, minutesLeft: max(1, seconds / 60))
        } else {
            html = PortalPage.terms(school: settings.schoolName, terms: registry.terms, token: token.issue(for: client, at: instant), problem: problem)
        }
        return PortalResponse(status: status, headers: Self.pageHeaders, body: html)
    }

    static let pageHeaders = [
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer",
    ]

    private func accept(_ request: PortalRequest) -> PortalResponse {
        let instant = now()
        if !Self.isSameOrigin(request) {
            return page(for: request.client, status: 403, problem: "This agreement did not come from this page. Please accept the terms below.")
        }
        let fields = FormBody.decode(request.body)
        guard let given = fields["token"], token.isValid(given, for: request.client, at: instant) else {
            return page(for: request.client, status: 403, problem: "This page had expired. Please accept the terms again.")
        }
        guard fields["agree"] == "yes" else {
            return page(for: request.client, status: 400, problem: "Please tick the box to say you accept the terms.")
        }
        let name = fields["name"].map(Self.cleanName).flatMap { $0.isEmpty ? nil : $0 }
        let record = ConsentRecord(client: request.client, name: name,
                                   termsVersion: registry.terms.version, consentedAt: instant)
        registry.record(record)
        onConsent(record)
        return PortalResponse(status: 303, headers: ["Location": "/", "Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8"],
                              body: "Accepted.\n")
    }

    /// A browser says where a form came from (`Origin`, `Sec-Fetch-Site`); when it does, it
    /// must be this page. Clients that say nothing are judged by the token alone.
    static func isSameOrigin(_ request: PortalRequest) -> Bool {
        if let site = request.header("sec-fetch-site"), site != "same-origin", site != "none" { return false }
        guard let origin = request.header("origin"), origin != "null" else { return true }
        guard let host = request.header("host")?.lowercased(),
              let schemeEnd = origin.range(of: "://") else { return false }
        return origin[schemeEnd.upperBound...].lowercased() == host
    }

    static func cleanName(_ text: String) -> String {
        String(text.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }.prefix(64).map(Character.init))
            .trimmingCharacters(in: .whitespaces)
    }

    /// RFC 8908 §5: whether this client is held, where to go, and how long its session has left.
    private func captiveAPI(for client: String) -> PortalResponse {
        var fields: [String] = []
        switch registry.standing(of: client, at: now()) {
        case .active(let seconds):
            fields = ["\"captive\": false", "\"seconds-remaining\": \(seconds)", "\"can-extend-session\": true"]
        default:
            fields = ["\"captive\": true"]
        }
        fields.insert("\"user-portal-url\": \"\(Self.jsonEscape(publicURL))\"", at: 1)
        return PortalResponse(status: 200, headers: ["Content-Type": "application/captive+json", "Cache-Control": "private"],
                              body: "{" + fields.joined(separator: ", ") + "}\n")
    }

    static func jsonEscape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
