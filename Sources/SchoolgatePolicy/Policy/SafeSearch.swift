/// SafeSearch without decrypting: the search providers publish a host that always serves their
/// filtered results, under the same certificate names. Connecting there instead of the real
/// address (the DNS trick schools use, done in the proxy) enforces it while the pupil's TLS
/// session is left untouched.
public enum SafeSearchLevel: String, Sendable, Codable {
    case off
    /// YouTube's moderate restriction; Google, Bing and DuckDuckGo strict.
    case moderate
    /// Everything strict.
    case strict
}

public enum SafeSearch {
    /// Where to connect instead of `host`, or nil when the host is not a search service.
    public static func enforcedHost(for host: HostName, level: SafeSearchLevel) -> String? {
        guard level != .off, host.kind == .domain, mayBeSearchService(host.text) else { return nil }
        let name = host.text
        if youtubeHosts.contains(name) {
            return level == .strict ? "restrict.youtube.com" : "restrictmoderate.youtube.com"
        }
        if name == "www.bing.com" || name == "bing.com" { return "strict.bing.com" }
        if name == "duckduckgo.com" || name == "www.duckduckgo.com" { return "safe.duckduckgo.com" }
        if isGoogleSearch(name) { return "forcesafesearch.google.com" }
        return nil
    }

    /// Every name below starts, after `www.` or `m.`, with one of these four letters. This runs
    /// for every allowed request, and most hosts are turned away on that one byte, without
    /// hashing or splitting the name.
    static func mayBeSearchService(_ name: String) -> Bool {
        var utf8 = name.utf8[...]
        if utf8.starts(with: "www.".utf8) {
            utf8 = utf8.dropFirst(4)
        } else if utf8.starts(with: "m.".utf8) {
            utf8 = utf8.dropFirst(2)
        }
        guard let first = utf8.first else { return false }
        return first == UInt8(ascii: "g") || first == UInt8(ascii: "y") || first == UInt8(ascii: "b") || first == UInt8(ascii: "d")
    }

    /// YouTube's own list of the names its restricted mode covers.
    static let youtubeHosts: Set<String> = [
        "www.youtube.com", "m.youtube.com", "youtubei.googleapis.com", "youtube.googleapis.com", "www.youtube-nocookie.com",
    ]

    /// `google.com`, `www.google.co.uk`, `www.google.de`, … but not `mail.google.com` or `google.example.org`.
    static func isGoogleSearch(_ name: String) -> Bool {
        var labels = name.split(separator: ".")
        if labels.first == "www" { labels.removeFirst() }
        guard labels.count >= 2, labels.count <= 3, labels[0] == "google" else { return false }
        let suffix = labels.dropFirst()
        // One country or generic label (de, com), or a second-level one (co.uk, com.au).
        return suffix.count == 1 || ["co", "com", "org", "net", "ac", "gov", "edu"].contains(String(suffix.first!))
    }
}
