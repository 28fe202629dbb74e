import Testing
@testable import SchoolgatePolicy

@Suite struct RequestURLTests {
    @Test func parsesAbsoluteURLs() throws {
        let url = try RequestURL(parsing: "HTTP://User:Secret@WWW.Example.com:8080/a/b?x=1#frag")
        #expect(url.scheme == "http")
        #expect(url.host.text == "www.example.com")
        #expect(url.port == 8080)
        #expect(url.path == "/a/b?x=1")
    }

    @Test func theHostIsWhatFollowsTheLastAt() throws {
        // A classic trick: the trusted name is only user info.
        let url = try RequestURL(parsing: "http://bbc.co.uk@bet365.com/")
        #expect(url.host.text == "bet365.com")
    }

    @Test func dropsDefaultPortsAndAddsTheRootPath() throws {
        #expect(try RequestURL(parsing: "http://example.com:80").description == "http://example.com/")
        #expect(try RequestURL(parsing: "https://example.com:443/").port == nil)
        #expect(try RequestURL(parsing: "https://example.com:8443/").port == 8443)
    }

    @Test func acceptsSchemelessListForm() throws {
        let url = try RequestURL(parsing: "example.com/path/")
        #expect(url.scheme == nil)
        #expect(url.path == "/path/")
    }

    @Test func acceptsIPv6Authorities() throws {
        let url = try RequestURL(parsing: "http://[2001:db8::1]:8080/x")
        #expect(url.host.text == "2001:db8::1")
        #expect(url.port == 8080)
        #expect(url.description == "http://[2001:db8::1]:8080/x")
    }

    @Test(arguments: ["", "http://", "http://exa mple.com/", "http://example.com:99999/", "ht tp://example.com/"])
    func refusesBrokenURLs(raw: String) {
        #expect(throws: URLParseError.self) { try RequestURL(parsing: raw) }
    }
}

@Suite struct PathNormaliserTests {
    @Test func theOnePassFormAgreesWithTheFullNormalisation() {
        // Random paths over the characters that matter to either: whenever the one-pass form
        // answers, its answer is the full normalisation's.
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("/./?#%2aAzZ-_=&+ ~é".unicodeScalars).map(String.init)
        var answered = 0
        for _ in 0..<50_000 {
            let path = "/" + (0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            guard let simple = PathNormaliser.simpleForm(path) else { continue }
            answered += 1
            #expect(simple == PathNormaliser.fullForm(path), "\(path)")
        }
        #expect(answered > 1_000, "the one-pass form answered \(answered) of 50,000")
        for path in ["/", "/index.html", "/Search?Q=Cats&x=/a//b", "/.well-known/x", "/a/", "/a?", "/a??"] {
            #expect(PathNormaliser.normalise(path) == PathNormaliser.fullForm(path), "\(path)")
        }
    }

    @Test(arguments: [
        ("/A/B", "/a/b"),
        ("//a///b", "/a/b"),
        ("/a/./b/../c", "/a/c"),
        ("/a/b/..", "/a/"),
        ("/../../etc", "/etc"),
        ("/%61%62c", "/abc"),
        ("/a%2Fb", "/a%2fb"),
        ("/a%2fb", "/a%2fb"),
        ("/%2e%2e/x", "/x"),
        ("/caf\u{e9}", "/caf%c3%a9"),
        ("/caf%C3%A9", "/caf%c3%a9"),
        ("/a b", "/a%20b"),
        ("/p?Q=A%26B&x=//y", "/p?q=a%26b&x=//y"),
        ("/p#fragment", "/p"),
        ("", "/"),
        ("a", "/a"),
        ("/b?%4%411f", "/b?%254a1f"),
        ("/100%", "/100%25"),
    ])
    func normalises(raw: String, expected: String) {
        #expect(PathNormaliser.normalise(raw) == expected)
        #expect(PathNormaliser.normalise(expected) == expected, "normalising twice changes nothing")
    }
}
