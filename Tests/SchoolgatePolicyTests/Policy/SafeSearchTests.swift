import Testing
@testable import SchoolgatePolicy

@Suite struct SafeSearchTests {
    @Test(arguments: [
        ("www.google.com", SafeSearchLevel.strict, "forcesafesearch.google.com"),
        ("google.co.uk", .strict, "forcesafesearch.google.com"),
        ("www.google.de", .moderate, "forcesafesearch.google.com"),
        ("www.youtube.com", .strict, "restrict.youtube.com"),
        ("m.youtube.com", .moderate, "restrictmoderate.youtube.com"),
        ("youtubei.googleapis.com", .strict, "restrict.youtube.com"),
        ("www.bing.com", .strict, "strict.bing.com"),
        ("duckduckgo.com", .strict, "safe.duckduckgo.com"),
    ] as [(String, SafeSearchLevel, String)])
    func sendsSearchServicesToTheirEnforcingHosts(host: String, level: SafeSearchLevel, expected: String) throws {
        #expect(SafeSearch.enforcedHost(for: try HostName(host), level: level) == expected)
    }

    @Test(arguments: ["mail.google.com", "google.example.org", "www.google.evil.example.com", "youtube.com.example", "example.com", "8.8.8.8"])
    func leavesOtherHostsAlone(host: String) throws {
        #expect(SafeSearch.enforcedHost(for: try HostName(host), level: .strict) == nil)
    }

    /// The one-byte shortcut must never turn away a name the lists below would rewrite.
    @Test func theShortcutLetsEveryServiceNameThrough() throws {
        let names = Array(SafeSearch.youtubeHosts) + ["bing.com", "www.bing.com", "duckduckgo.com", "www.duckduckgo.com", "google.com", "www.google.com.au"]
        for name in names {
            #expect(SafeSearch.mayBeSearchService(name), "\(name)")
            #expect(SafeSearch.enforcedHost(for: try HostName(name), level: .strict) != nil, "\(name)")
        }
        #expect(!SafeSearch.mayBeSearchService("example.com") && !SafeSearch.mayBeSearchService("www.example.com"))
    }

    @Test func isOffWhenTheGroupSaysSo() throws {
        #expect(SafeSearch.enforcedHost(for: try HostName("www.google.com"), level: .off) == nil)
    }

    @Test func theDecisionCarriesWhereToConnectForAllowedRequestsOnly() throws {
        let index = makeIndex([("search", "domains", "bing.com")])
        let policy = Policy(groups: [
            Group(name: "pupils", safeSearch: .strict),
            Group(name: "blocking", blocked: ["search": nil], safeSearch: .strict),
            Group(name: "staff"),
        ], index: index, defaultGroup: "staff")
        let time = LocalTime(weekday: .monday, minuteOfDay: 600)
        func decide(_ url: String, _ group: String) throws -> Decision {
            policy.decide(PolicyRequest(url: try RequestURL(parsing: url), group: group, time: time))
        }
        #expect(try decide("https://www.google.com/", "pupils").connectTo == "forcesafesearch.google.com")
        #expect(try decide("https://www.google.com/", "staff").connectTo == nil)
        #expect(try decide("https://www.bing.com/", "blocking").verdict == .block)
        #expect(try decide("https://www.bing.com/", "blocking").connectTo == nil)
    }
}
