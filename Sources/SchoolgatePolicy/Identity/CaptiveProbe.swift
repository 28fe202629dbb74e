/// The URLs operating systems and browsers fetch to learn whether a network holds them at a
/// captive portal. Until a guest consents they get the portal (so the device opens its sign-in
/// sheet by itself); after, the answer each expects, so the device reports "connected".
public enum CaptiveProbe: String, Sendable, CaseIterable {
    case apple
    case android
    case windows
    case windowsLegacy
    case firefox

    /// Hosts and paths as the vendors document them (lower-case host, path without query).
    static let known: [(host: String, path: String, probe: CaptiveProbe)] = [
        ("captive.apple.com", "/hotspot-detect.html", .apple),
        ("captive.apple.com", "/", .apple),
        ("www.apple.com", "/library/test/success.html", .apple),
        ("connectivitycheck.gstatic.com", "/generate_204", .android),
        ("connectivitycheck.android.com", "/generate_204", .android),
        ("clients3.google.com", "/generate_204", .android),
        ("www.google.com", "/gen_204", .android),
        ("www.msftconnecttest.com", "/connecttest.txt", .windows),
        ("www.msftncsi.com", "/ncsi.txt", .windowsLegacy),
        ("detectportal.firefox.com", "/success.txt", .firefox),
        ("detectportal.firefox.com", "/canonical.html", .firefox),
    ]

    /// The probe a plain-HTTP request is, if any. `path` may carry a query, which is ignored.
    public static func matching(host: String, path: String) -> CaptiveProbe? {
        // The host first: every allowed request of a guest network asks, and almost none is one.
        guard known.contains(where: { $0.host == host }) else { return nil }
        let bare = path.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(path[..<$0]) } ?? path
        return known.first { $0.host == host && $0.path == bare }?.probe
    }

    /// The answer the device takes to mean "on the internet".
    public var success: (status: Int, contentType: String, body: String) {
        switch self {
        case .apple: (200, "text/html", "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>")
        case .android: (204, "text/plain", "")
        case .windows: (200, "text/plain", "Microsoft Connect Test")
        case .windowsLegacy: (200, "text/plain", "Microsoft NCSI")
        case .firefox: (200, "text/plain", "success\n")
        }
    }
}
