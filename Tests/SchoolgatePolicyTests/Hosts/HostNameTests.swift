import Testing
@testable import SchoolgatePolicy

@Suite struct HostNameTests {
    @Test(arguments: [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("example.com:8080", "example.com"),
        ("  example.com  ", "example.com"),
        ("%65xample.com", "example.com"),
        (".example.com", "example.com"),
        ("*.example.com", "example.com"),
        ("www.example.com", "www.example.com"),
        ("under_score.example.com", "under_score.example.com"),
    ])
    func normalisesCaseDotsPortsAndEncoding(raw: String, expected: String) throws {
        let host = try HostName(raw)
        #expect(host.text == expected)
        #expect(host.kind == .domain)
    }

    @Test(arguments: [
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("bücher。example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ])
    func comparesInternationalNamesInPunycode(raw: String, expected: String) throws {
        #expect(try HostName(raw).text == expected)
    }

    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.0.258", "10.0.1.2"),
        ("1.2.3.4.", "1.2.3.4"),
        ("[::ffff:1.2.3.4]", "1.2.3.4"),
    ])
    func readsIPv4InEveryNotationBrowsersAccept(raw: String, expected: String) throws {
        let host = try HostName(raw)
        #expect(host.text == expected)
        #expect(host.kind == .ipv4)
    }

    /// Dotted quads already in canonical form take a shortcut; it must agree with the full path
    /// on every one of them, and leave the rest (leading zeros, 256, three parts) to it.
    @Test func takesTheCanonicalIPv4ShortcutOnlyWhereTheFullPathAgrees() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let octets = (0..<4).map { _ in UInt32.random(in: 0...255, using: &generator) }
            let text = octets.map(String.init).joined(separator: ".")
            let host = try HostName(text)
            #expect(host.text == IPv4.format(octets.reduce(0) { $0 << 8 | $1 }) && host.kind == .ipv4, "\(text)")
        }
        #expect(try HostName("010.0.0.1").text == "8.0.0.1")
        #expect(try HostName("1.2.3").text == "1.2.0.3")
        #expect(try HostName("0.0.0.0").text == "0.0.0.0")
        #expect(throws: HostNameError.self) { try HostName("256.1.1.1") }
        #expect(throws: HostNameError.self) { try HostName("1.2.3.4.5") }
    }

    @Test func readsClientAddressesStrictly() {
        #expect(AddressRange.parseAddress("10.20.30.40") == [10, 20, 30, 40])
        #expect(AddressRange.parseAddress("010.0.0.1") == [10, 0, 0, 1])
        #expect(AddressRange.parseAddress("::ffff:10.0.0.1") == [10, 0, 0, 1])
        for bad in ["10.0.0.256", "10.0.0", "1.2.3.4.5", "1..2.3", "1.2.3.4.", "+1.2.3.4", "1.2.3.0004", ""] {
            #expect(AddressRange.parseAddress(bad) == nil, "\(bad)")
        }
    }

    @Test(arguments: [
        ("[::1]", "::1"),
        ("[2001:DB8:0:0:0:0:0:1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8:0:0:1:0:0:1]:443", "2001:db8::1:0:0:1"),
        ("[2001:0db8:0000:0000:0000:ff00:0042:8329]", "2001:db8::ff00:42:8329"),
        ("[fe80::1:2]", "fe80::1:2"),
    ])
    func writesIPv6InRFC5952Form(raw: String, expected: String) throws {
        let host = try HostName(raw)
        #expect(host.text == expected)
        #expect(host.kind == .ipv6)
        #expect(host.urlForm == "[\(expected)]")
    }

    @Test(arguments: [
        ("", "empty host"),
        ("exa mple.com", "a space is not allowed"),
        ("example..com", "empty label"),
        ("exa$mple.com", "character '$' is not allowed"),
        ("256.1.1.1", "not a valid IPv4 address"),
        ("1.2.3.4.5", "not a valid IPv4 address"),
        ("0x100000000", "not a valid IPv4 address"),
        ("example.com:http", "port is not a number"),
        ("[::1", "without a closing"),
        ("[1::2::3]", "not a valid IPv6 address"),
        ("%zz.example", "bad percent-encoding"),
    ])
    func refusesWhatIsNotAHost(raw: String, reasonContains: String) {
        #expect {
            _ = try HostName(raw)
        } throws: { error in
            (error as? HostNameError)?.reason.contains(reasonContains) == true
        }
    }

    @Test func refusesOverlongLabelsAndNames() {
        #expect(throws: HostNameError.self) { try HostName(String(repeating: "a", count: 64) + ".com") }
        let long = Array(repeating: "abcdefghi", count: 26).joined(separator: ".")
        #expect(throws: HostNameError.self) { try HostName(long) }
    }
}

@Suite struct PunycodeTests {
    // RFC 3492 section 7.1, samples (A) Arabic and (L) Japanese, lower-cased.
    @Test func encodesRFCSamples() {
        #expect(Punycode.encode("\u{0644}\u{064A}\u{0647}\u{0645}\u{0627}\u{0628}\u{062A}\u{0643}\u{0644}\u{0645}\u{0648}\u{0634}\u{0639}\u{0631}\u{0628}\u{064A}\u{061F}") == "egbpdaj6bu4bxfgehfvwxn")
        #expect(Punycode.encode("3\u{5E74}b\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}") == "3b-ww4c5e180e575a65lsy2b")
    }
}
