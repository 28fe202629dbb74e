import Foundation
import Testing
@testable import SchoolgateProxy

/// Builds ClientHello bytes the way a client would, split into as many records as asked.
enum HelloBuilder {
    static func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    static func vector16(_ bytes: [UInt8]) -> [UInt8] { u16(bytes.count) + bytes }

    static func extensionBytes(_ type: Int, _ body: [UInt8]) -> [UInt8] { u16(type) + vector16(body) }

    static func sni(_ name: String) -> [UInt8] {
        extensionBytes(0, vector16([0] + vector16(Array(name.utf8))))
    }

    static func alpn(_ names: [String]) -> [UInt8] {
        extensionBytes(16, vector16(names.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }))
    }

    static func handshake(extensions: [[UInt8]]?, padding: Int = 0) -> [UInt8] {
        var body: [UInt8] = [3, 3] + Array(repeating: 0x42, count: 32)
        body += [32] + Array(repeating: 7, count: 32)                 // session id
        body += vector16([0x13, 0x01, 0x13, 0x02, 0x0a, 0x0a])        // cipher suites, one GREASE
        body += [1, 0]                                                 // compression: null
        if let extensions {
            var all = extensions.flatMap { $0 }
            if padding > 0 { all += extensionBytes(21, Array(repeating: 0, count: padding)) }
            body += vector16(all)
        }
        return [1, UInt8(body.count >> 16), UInt8(body.count >> 8 & 0xff), UInt8(body.count & 0xff)] + body
    }

    /// The handshake message cut into `records` TLS records of near-equal size.
    static func records(_ handshake: [UInt8], count records: Int = 1) -> [UInt8] {
        let size = (handshake.count + records - 1) / records
        return stride(from: 0, to: handshake.count, by: size).flatMap { start -> [UInt8] in
            let piece = Array(handshake[start..<min(start + size, handshake.count)])
            return [22, 3, 1] + u16(piece.count) + piece
        }
    }

    static func hello(_ name: String?, alpn names: [String] = ["h2", "http/1.1"], records: Int = 1, padding: Int = 0, ech: Bool = false) -> [UInt8] {
        var extensions: [[UInt8]] = [extensionBytes(0x0a0a, []), extensionBytes(0xfafa, [0])]   // GREASE, twice
        if let name { extensions.append(sni(name)) }
        extensions.append(alpn(names))
        if ech { extensions.append(extensionBytes(0xfe0d, [0, 1, 2, 3])) }
        return Self.records(handshake(extensions: extensions, padding: padding), count: records)
    }
}

@Suite struct ClientHelloParserTests {
    @Test func readsServerNameALPNAndECH() {
        #expect(ClientHelloParser.parse(HelloBuilder.hello("www.example.com", ech: true)) == .complete(
            ClientHello(serverName: "www.example.com", alpn: ["h2", "http/1.1"], offersEncryptedClientHello: true)))
    }

    @Test func aHelloWithoutSNIHasNoName() {
        #expect(ClientHelloParser.parse(HelloBuilder.hello(nil)) == .complete(ClientHello(serverName: nil, alpn: ["h2", "http/1.1"])))
        #expect(ClientHelloParser.parse(HelloBuilder.records(HelloBuilder.handshake(extensions: nil))) == .complete(ClientHello()))
    }

    @Test(arguments: [1, 2, 3, 7])
    func reassemblesAHelloSplitAcrossRecords(records: Int) {
        // 2 KB of padding, like Chromium's hello with a post-quantum key share.
        let bytes = HelloBuilder.hello("split.example", records: records, padding: 2000)
        #expect(ClientHelloParser.parse(bytes) == .complete(ClientHello(serverName: "split.example", alpn: ["h2", "http/1.1"])))
    }

    @Test(arguments: [1, 4])
    func asksForMoreUntilTheLastByteArrives(records: Int) {
        let bytes = HelloBuilder.hello("drip.example", records: records, padding: 600)
        for end in 0..<bytes.count {
            #expect(ClientHelloParser.parse(bytes[0..<end]) == .needMoreData, "at \(end) of \(bytes.count)")
        }
        #expect(ClientHelloParser.parse(bytes) == .complete(ClientHello(serverName: "drip.example", alpn: ["h2", "http/1.1"])))
    }

    @Test func ignoresBytesAfterTheHello() {
        let bytes = HelloBuilder.hello("a.example") + [23, 3, 3, 0, 1, 0]
        if case .complete(let hello) = ClientHelloParser.parse(bytes) { #expect(hello.serverName == "a.example") } else { Issue.record("not parsed") }
    }

    @Test(arguments: [
        (Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), "does not start a TLS handshake record"),
        ([0x16, 2, 0, 0, 1, 1], "is not TLS"),
        ([0x16, 3, 1, 0, 0], "out of range"),
        ([0x16, 3, 1, 0, 4, 2, 0, 0, 0], "not ClientHello"),
        ([0x16, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3], "malformed ClientHello"),
        (Array("SSH-2.0-OpenSSH_9.2\r\n".utf8), "does not start a TLS handshake record"),
    ] as [([UInt8], String)])
    func recognisesWhatIsNotTLS(bytes: [UInt8], reason: String) {
        guard case .notTLS(let why) = ClientHelloParser.parse(bytes) else {
            Issue.record("expected notTLS, got \(ClientHelloParser.parse(bytes))")
            return
        }
        #expect(why.contains(reason), "\(why)")
    }

    @Test func refusesDuplicateExtensionsAndBadNames() {
        let duplicate = HelloBuilder.records(HelloBuilder.handshake(extensions: [HelloBuilder.sni("a.example"), HelloBuilder.sni("b.example")]))
        #expect(ClientHelloParser.parse(duplicate) == .notTLS("extension 0 appears twice"))
        let control = HelloBuilder.records(HelloBuilder.handshake(extensions: [HelloBuilder.sni("a\u{0}b.example")]))
        #expect(ClientHelloParser.parse(control) == .notTLS("malformed server_name extension"))
    }

    @Test func refusesOversizeHellos() {
        #expect(ClientHelloParser.parse(HelloBuilder.hello("big.example", records: 3, padding: 20_000)) == .tooLarge)
        // The declared length alone is enough to refuse, before the bytes arrive.
        #expect(ClientHelloParser.parse([22, 3, 1, 0, 4, 1, 0x01, 0x00, 0x00]) == .tooLarge)
    }
}

/// Hellos captured on loopback from the real clients (Fixtures/, also the fuzzing seeds).
@Suite struct RealClientHelloTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(name)")
        return Array(try Data(contentsOf: url))
    }

    @Test func readsCurlsHello() throws {
        let hello = try Self.fixture("curl-hello.bin")
        guard case .complete(let parsed) = ClientHelloParser.parse(hello) else { Issue.record("not parsed"); return }
        #expect(parsed.serverName == "localhost")
        #expect(parsed.alpn == ["h2", "http/1.1"])
    }

    @Test(arguments: ["chromium-hello-1.bin", "chromium-hello-2.bin"])
    func readsChromiumsPostQuantumHelloHoweverItIsCut(name: String) throws {
        let hello = try Self.fixture(name)
        #expect(hello.count > 1_900, "Chromium's hello carries an ML-KEM key share")
        guard case .complete(let parsed) = ClientHelloParser.parse(hello) else { Issue.record("not parsed"); return }
        #expect(parsed.serverName == "localhost")
        #expect(parsed.alpn == ["h2", "http/1.1"])
        for end in stride(from: 0, to: hello.count, by: 1) {
            if ClientHelloParser.parse(hello[0..<end]) != .needMoreData { Issue.record("answered early at \(end)"); break }
        }
    }
}
