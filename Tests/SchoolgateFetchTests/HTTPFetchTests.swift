import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL
import SchoolgateTestSupport
import Testing
@testable import SchoolgateFetch

/// The Python origin in Support/, on a loopback port; HTTPS with a certificate when given one.
final class FetchOrigin {
    private let server: LoopbackScript
    var port: Int { server.port }

    init(certificate: (cert: String, key: String)? = nil) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/fetch_origin.py").path
        server = try LoopbackScript(script, arguments: certificate.map { [$0.cert, $0.key] } ?? [])
    }

    func url(_ path: String, scheme: String = "http", host: String = "127.0.0.1") -> URL {
        URL(string: "\(scheme)://\(host):\(port)\(path)")!
    }
}

/// Collects what a fetch hands over.
final class Collected: Sendable {
    private let box = NIOLockedValueBox<(heads: [Int], bytes: [UInt8])>(([], []))
    func head(_ response: HTTPFetch.Response) { box.withLockedValue { $0.heads.append(response.status) } }
    func body(_ buffer: ByteBuffer) { box.withLockedValue { $0.bytes += buffer.readableBytesView } }
    var heads: [Int] { box.withLockedValue { $0.heads } }
    var bytes: [UInt8] { box.withLockedValue { $0.bytes } }
}

/// Deadlines of 120 s only stop a hang: in the full parallel run a task here can wait many seconds
/// to be resumed (a 20 s deadline for four redirects ran out once in CI), and how fast a fetch
/// is, is not what these tests check.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs python3 for the origin"))
struct HTTPFetchTests {
    @Test func streamsAChunkedBodyWhole() async throws {
        let origin = try FetchOrigin()
        let got = Collected()
        let answer = try await HTTPFetch().get(origin.url("/chunked/100000"), timeout: .seconds(120), response: got.head, body: got.body)
        #expect(answer.status == 200)
        #expect(got.heads == [200])
        #expect(got.bytes.count == 100_000)
        #expect(got.bytes == (0..<100_000).map { UInt8($0 % 251) })
    }

    @Test func followsRedirectsAndHandsOverOnlyTheFinalAnswer() async throws {
        let origin = try FetchOrigin()
        let got = Collected()
        let answer = try await HTTPFetch().get(origin.url("/redirect/3"), timeout: .seconds(120), response: got.head, body: got.body)
        #expect(answer.status == 200)
        #expect(answer.url.path == "/chunked/10")
        #expect(got.heads == [200], "the redirects' own heads are not handed over")
        #expect(got.bytes.count == 10)
    }

    @Test func refusesARedirectLoop() async throws {
        let origin = try FetchOrigin()
        await #expect(throws: HTTPFetch.Failure.self) {
            try await HTTPFetch().get(origin.url("/loop"), timeout: .seconds(120), response: { _ in }, body: { _ in })
        }
    }

    @Test func postsABodyWithItsType() async throws {
        let origin = try FetchOrigin()
        let payload = Array(#"{"incident":7}"#.utf8)
        let answer = try await HTTPFetch().post(origin.url("/echo"), contentType: "application/json", body: payload, timeout: .seconds(120))
        #expect(answer.status == 201)
        #expect(answer.headers.first(name: "X-Got-Type") == "application/json")
        #expect(answer.headers.first(name: "Content-Length") == String(payload.count))
    }

    @Test func reportsAnErrorStatusAsAnAnswer() async throws {
        let origin = try FetchOrigin()
        let answer = try await HTTPFetch().get(origin.url("/missing"), timeout: .seconds(120), response: { _ in }, body: { _ in })
        #expect(answer.status == 404)
    }

    @Test func givesUpOnASilentServerAtItsDeadline() async throws {
        let origin = try FetchOrigin()
        let started = ContinuousClock.now
        let error = await #expect(throws: HTTPFetch.Failure.self) {
            try await HTTPFetch().get(origin.url("/silent"), timeout: .milliseconds(500), response: { _ in }, body: { _ in })
        }
        #expect(error?.description.contains("within") == true, "\(String(describing: error))")
        // The origin holds the request for 120 s: ending well before that, the fetch was ended by
        // its deadline and not by the origin. (The bound is loose because a loaded test process
        // can take many seconds to resume a task; how quickly is not what is checked.)
        #expect(ContinuousClock.now - started < .seconds(60), "the deadline, not the origin's close, ended the fetch")
    }

    @Test func givesUpOnAServerThatStopsSending() async throws {
        let origin = try FetchOrigin()
        let started = ContinuousClock.now
        let error = await #expect(throws: HTTPFetch.Failure.self) {
            try await HTTPFetch().send(.GET, origin.url("/stall"), timeout: .seconds(100), stallTimeout: .seconds(2))
        }
        #expect(error?.description.contains("sent nothing for 2.0 seconds") == true, "\(String(describing: error))")
        // The overall deadline is 100 s and the origin holds for 120 (after 10 of its 1,000
        // bytes): only the stall check can end the fetch sooner (a loose bound, as above).
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func namesWhatCouldNotBeReached() async throws {
        let error = await #expect(throws: HTTPFetch.Failure.self) {
            try await HTTPFetch().post(URL(string: "http://127.0.0.1:1/alert")!, contentType: "application/json", body: [], timeout: .seconds(120))
        }
        #expect(error?.description.contains("127.0.0.1:1") == true, "\(String(describing: error))")
    }

    @Test func refusesSchemesOtherThanHTTP() async throws {
        await #expect(throws: HTTPFetch.Failure.self) {
            try await HTTPFetch().get(URL(string: "ftp://127.0.0.1/list")!, timeout: .seconds(5), response: { _ in }, body: { _ in })
        }
    }

    /// HTTPS: the certificate is checked, by name, against the trust roots given.
    @Test func checksTheCertificateOverHTTPS() async throws {
        let directory = try TestShell.temporaryDirectory("schoolgate-fetch")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try TestShell.run("""
            cd \(directory) && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
              -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>&1
            """)
        let origin = try FetchOrigin(certificate: (directory + "/cert.pem", directory + "/key.pem"))
        let trusted = try NIOSSLCertificate.fromPEMFile(directory + "/cert.pem")

        let got = Collected()
        let answer = try await HTTPFetch(trustRoots: trusted).get(origin.url("/chunked/5000", scheme: "https", host: "localhost"),
                                                                  timeout: .seconds(120), response: got.head, body: got.body)
        #expect(answer.status == 200)
        #expect(got.bytes.count == 5000)

        // Not in the system's trust store: refused by TLS (not, say, by a failed connection).
        let untrusted = await #expect(throws: (any Error).self) {
            try await HTTPFetch().get(origin.url("/chunked/10", scheme: "https", host: "localhost"), timeout: .seconds(120), response: { _ in }, body: { _ in })
        }
        #expect(Self.isTLSRefusal(untrusted), "\(String(describing: untrusted))")
        // Trusted, but not the name (here, the address) the certificate carries: refused by TLS.
        let misnamed = await #expect(throws: (any Error).self) {
            try await HTTPFetch(trustRoots: trusted).get(origin.url("/chunked/10", scheme: "https", host: "127.0.0.1"), timeout: .seconds(120),
                                                         response: { _ in }, body: { _ in })
        }
        #expect(Self.isTLSRefusal(misnamed), "\(String(describing: misnamed))")
    }

    static func isTLSRefusal(_ error: (any Error)?) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError
    }
}
